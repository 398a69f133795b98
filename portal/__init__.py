"""The Shift Proof Portal: create_app() wires settings, extensions, blueprints, CLI and error handlers."""
from pathlib import Path

from flask import Flask

from .config import build_config
from .extensions import babel, csrf, db, login_manager, migrate
from .inputs import ExternalIdConverter, IdConverter

ROOT = Path(__file__).resolve().parent.parent


def create_app(config=None, profile=None):
    """Build the app for a profile (development, testing, production) with optional overrides."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_mapping(build_config(app.instance_path, profile, config))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.url_map.converters["id"] = IdConverter  # before the blueprints: every id in a route is <id:...>
    app.url_map.converters["external_id"] = ExternalIdConverter
    _init_extensions(app)
    _register_blueprints(app)
    from . import assets, cli, error_pages, jobs, logs, mail, media, quotas, security_headers, template_helpers

    assets.init_app(app)
    jobs.init_app(app)
    mail.init_app(app)
    logs.init_app(app)
    security_headers.init_app(app)
    template_helpers.init_app(app)
    error_pages.init_app(app)
    media.init_app(app)
    quotas.init_app(app)
    cli.init_app(app)
    return app


def _init_extensions(app):
    from . import i18n
    from .auth import throttle
    from .auth.sessions import load_user

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    throttle.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"  # "strong" would sign out phones whose address changes
    login_manager.user_loader(load_user)


def _register_blueprints(app):
    from .api.v1 import bp as api_v1_bp
    from .auth import bp as auth_bp
    from . import metrics
    from .web import account, api, api_tokens, audit, cancellations, direct_uploads, exports, health, home, language
    from .web import local_media, media, my_data, retention, schedule, shifts, staff, storage

    app.register_blueprint(auth_bp)
    app.register_blueprint(local_media.bp)
    app.register_blueprint(api_v1_bp)
    for module in (account, api, api_tokens, audit, cancellations, direct_uploads, health, media, storage, metrics,
                   staff, language):
        app.register_blueprint(module.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(shifts.bp)
    app.register_blueprint(schedule.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(my_data.bp)
    app.register_blueprint(retention.bp)
