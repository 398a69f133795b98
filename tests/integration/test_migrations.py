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

    heads = [p.name.split("_")[0] for p in (Path(__file__).parents[2] / "migrations" / "versions").glob("*.py")]
    assert version.split("_")[0] == max(heads)
