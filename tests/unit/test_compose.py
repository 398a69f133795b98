"""docker-compose.yml, its settings and the nginx template, read against the code (Docker does not run here)."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = {"FLASK_APP", "PROMETHEUS_MULTIPROC_DIR", "GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_THREADS",
            "FORWARDED_ALLOW_IPS"}
TEMPLATE = ROOT / "deploy" / "nginx" / "templates" / "default.conf.template"


def settings_the_app_reads():
    """Every environment name the code reads: config.py's helpers and os.environ lookups."""
    names = set(EXTERNAL)
    for path in list((ROOT / "portal").rglob("*.py")) + [ROOT / "gunicorn.conf.py"]:
        text = path.read_text()
        names.update(re.findall(r'_env(?:_int|_bool|_list)?\("([A-Z0-9_]+)"', text))
        names.update(re.findall(r'os\.environ\.get\("([A-Z0-9_]+)"', text))
    return names


def env_file(path):
    pairs = {}
    for line in (ROOT / path).read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]+)=", line)
        if match:
            pairs[match.group(1)] = line
    return pairs


def env_value(path, name):
    return env_file(path)[name].split("=", 1)[1]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_stack_with_healthchecks_and_volumes():
    services = compose()["services"]
    assert {"db", "minio", "init", "app", "worker", "nginx", "redis"} <= set(services)
    assert services["worker"]["command"] == ["flask", "queue", "worker"]
    assert env_value(".env.compose", "REDIS_URL").startswith("redis://redis:6379/")
    for name in ("db", "minio", "app", "nginx", "redis"):
        assert "healthcheck" in services[name], name
    init = " ".join(services["init"]["command"])
    assert "flask db upgrade" in init and "flask media init" in init
    assert services["app"]["command"][:3] == ["gunicorn", "-c", "gunicorn.conf.py"]
    assert services["app"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert set(compose()["volumes"]) == {"db-data", "minio-data"}


def test_only_nginx_is_published_and_mailpit_to_this_machine_only():
    published = {name for name, service in compose()["services"].items() if service.get("ports")}
    assert published == {"nginx", "mailpit"}
    assert compose()["services"]["nginx"]["ports"] == ["8000:80"]
    assert compose()["services"]["mailpit"]["ports"] == ["127.0.0.1:8025:8025"]


def test_mail_goes_to_a_pinned_mailpit_and_links_point_at_nginx():
    services = compose()["services"]
    assert re.fullmatch(r"axllent/mailpit:v\d+\.\d+\.\d+", services["mailpit"]["image"])
    assert env_value(".env.compose", "MAIL_SERVER") == "mailpit" and env_value(".env.compose", "MAIL_PORT") == "1025"
    # every service of the app's image: production refuses to start without the address (portal/config.py)
    built = [name for name, service in services.items() if service.get("build") == "."]
    assert set(built) >= {"init", "app", "worker", "mailer", "retention", "backup"}
    for name in built:
        assert services[name]["environment"]["PORTAL_BASE_URL"] == "${PORTAL_ORIGIN:-http://localhost:8000}"
    assert "flask mail send-pending" in services["mailer"]["command"][-1]


def test_nginx_runs_the_repositorys_template_with_every_placeholder_set():
    nginx = compose()["services"]["nginx"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+", nginx["image"])  # the official image, a pinned release
    assert "./deploy/nginx/templates:/etc/nginx/templates:ro" in nginx["volumes"]
    static_root = nginx["environment"]["PORTAL_STATIC_ROOT"]
    assert f"./static:{static_root}/static:ro" in nginx["volumes"]
    placeholders = set(re.findall(r"\$\{([A-Z0-9_]+)\}", TEMPLATE.read_text()))
    assert placeholders == {name for name in nginx["environment"] if name.startswith("PORTAL_")}
    assert nginx["environment"]["NGINX_ENVSUBST_FILTER"] == "^PORTAL_"


def test_nginx_points_at_the_app_the_store_and_the_bucket_the_app_uses():
    nginx, app = compose()["services"]["nginx"]["environment"], compose()["services"]["app"]
    assert nginx["PORTAL_APP_UPSTREAM"] == "app:8000" and app.get("expose") == ["8000"]
    assert "http://" + nginx["PORTAL_STORE_UPSTREAM"] == env_value(".env.compose", "MEDIA_STORAGE_ENDPOINT")
    assert nginx["PORTAL_MEDIA_BUCKET"] == env_value(".env.compose", "MEDIA_STORAGE_BUCKET")
    assert env_value(".env.compose", "MEDIA_STORAGE_ADDRESSING") == "path"  # the bucket is the path's first part


def test_presigned_urls_are_signed_for_the_origin_nginx_publishes():
    app = compose()["services"]["app"]["environment"]
    assert app["MEDIA_STORAGE_PUBLIC_BASE_URL"] == "${PORTAL_ORIGIN:-http://localhost:8000}"
    assert "MEDIA_STORAGE_PUBLIC_BASE_URL" not in env_file(".env.compose")
    assert env_value(".env.compose", "PROXY_FIX_X_FOR") == "1"


def test_the_bucket_path_does_not_shadow_a_page_of_the_app():
    from portal import create_app

    app = create_app({"SECRET_KEY": "x" * 40}, profile="testing")
    first_parts = {rule.rule.strip("/").split("/")[0] for rule in app.url_map.iter_rules()}
    assert env_value(".env.compose", "MEDIA_STORAGE_BUCKET") not in first_parts
    assert app.config["MEDIA_STORAGE_BUCKET"] not in first_parts


def test_metrics_are_closed_to_docker_networks():
    allowed = env_value(".env.compose", "METRICS_ALLOW_NETWORKS").split(",")
    assert allowed == ["127.0.0.1/32"]
    assert compose()["services"]["app"]["environment"]["METRICS_TOKEN"] == "${METRICS_TOKEN:-}"
    assert re.search(r"location = /metrics \{\s*return 404;", TEMPLATE.read_text())


def test_every_setting_in_compose_and_env_files_is_one_the_app_reads():
    known = settings_the_app_reads()
    names = set(env_file(".env.compose")) | set(env_file(".env.example"))
    for service in compose()["services"].values():
        if any(".env.compose" in f for f in service.get("env_file", [])):
            names |= set(service.get("environment", {}))
    assert names - known == set()


def test_every_documented_setting_exists_in_the_code():
    section = (ROOT / "docs" / "settings.md").read_text()
    documented = set(re.findall(r"^\| ([A-Z][A-Z0-9_]+)", section, re.M))
    assert documented and documented - settings_the_app_reads() == set()


def test_compose_ships_no_secret_and_refuses_to_start_without_the_operators():
    shipped = env_file(".env.compose")
    assert "SECRET_KEY" not in shipped and "MEDIA_STORAGE_SECRET_KEY" not in shipped
    services = compose()["services"]
    assert services["minio"]["environment"]["MINIO_ROOT_PASSWORD"].startswith("${MINIO_ROOT_PASSWORD:?")
    for name in ("init", "app", "backup"):
        environment = services[name]["environment"]
        assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?"), name
        assert environment["MEDIA_STORAGE_SECRET_KEY"].startswith("${MINIO_ROOT_PASSWORD:?"), name
    text = (ROOT / "docker-compose.yml").read_text() + (ROOT / ".env.compose").read_text()
    assert "change-me" not in text.lower() and "dev-only" not in text.lower()


def test_compose_counts_sign_in_failures_in_redis_for_every_worker():
    assert env_file(".env.compose")["RATELIMIT_STORAGE_URI"] == "RATELIMIT_STORAGE_URI=redis://redis:6379/0"
    services = compose()["services"]
    assert services["redis"]["image"].startswith("redis:")
    assert services["app"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_seeds_demo_logins_only_outside_production():
    init = compose()["services"]["init"]["command"][-1]
    assert 'if [ "$$PORTAL_ENV" != production ]; then flask seed-demo; fi' in init
