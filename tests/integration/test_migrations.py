"""The migrations and the models describe the same schema (on SQLite, and PostgreSQL in CI)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_autogenerate_finds_no_difference_after_upgrade(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_every_model_table_exists_with_alembic_at_head(app):
    inspector = db.inspect(db.engine)
    tables = set(inspector.get_table_names())
    assert {"users", "shifts", "shift_cancellations", "media_objects", "audit_events", "alembic_version"} <= tables
    with db.engine.connect() as conn:
        version = conn.execute(db.text("select version_num from alembic_version")).scalar()
    from pathlib import Path

    from alembic.script import ScriptDirectory

    assert version == ScriptDirectory(str(Path(__file__).parents[2] / "migrations")).get_current_head()


def test_people_the_api_created_with_a_random_password_become_invited(tmp_path):
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}", "SECRET_KEY": "x" * 32},
                     profile="testing")
    with app.app_context():
        upgrade(revision="0010_api_tokens")
        with db.engine.begin() as conn:
            for email, external_id, signed_in in (("owner@x.example", None, None), ("api@x.example", "E1", None),
                                                  ("chose@x.example", "E2", "2026-01-05 10:00:00"),
                                                  ("staff@x.example", None, None)):
                conn.execute(db.text(
                    "insert into users (email, password_hash, role, display_name, owner_id, external_id,"
                    " last_sign_in_at, active, email_notifications, session_token, timezone, created_at) values (:email,"
                    " 'hash', :role, 'X', null, :external_id, :signed_in, true, true, :email, 'Europe/Moscow',"
                    " '2026-01-01 00:00:00')"),
                    {"email": email, "role": "owner" if email.startswith("owner") else "employee",
                     "external_id": external_id, "signed_in": signed_in})
        upgrade()
        with db.engine.connect() as conn:
            hashes = dict(conn.execute(db.text("select email, password_hash from users")).all())
        db.engine.dispose()
    assert hashes == {"owner@x.example": "hash", "api@x.example": None, "chose@x.example": "hash",
                      "staff@x.example": "hash"}
