"""flask seed-demo creates two full businesses, prints the logins, and is safe to run again."""
from portal.extensions import db
from portal.models import Shift, User


def test_seed_demo_creates_two_businesses_and_is_idempotent(runner, app):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    users = db.session.execute(db.select(User)).scalars().all()
    owners = [u for u in users if u.role == "owner"]
    assert len(owners) == 2
    for owner in owners:
        staff = [u for u in users if u.owner_id == owner.id]
        assert sorted(u.role for u in staff) == ["employee"] * 3 + ["manager", "owner"]
        assert owner.email in first.output
    shifts = db.session.execute(db.select(db.func.count(Shift.id))).scalar()
    assert shifts > 40
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "(0 new shifts)" in second.output
    assert db.session.execute(db.select(db.func.count(User.id))).scalar() == len(users)
    assert db.session.execute(db.select(db.func.count(Shift.id))).scalar() == shifts


def test_seeded_shifts_stay_inside_their_business(runner, app):
    runner.invoke(args=["seed-demo"])
    for shift in db.session.execute(db.select(Shift)).scalars():
        assert shift.employee.owner_id == shift.owner_id


def test_seed_demo_refuses_to_run_in_production(database_url, tmp_path, redis_url):
    import secrets

    from portal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secrets.token_hex(32),
                      "RATELIMIT_STORAGE_URI": redis_url, "PORTAL_BASE_URL": "https://portal.test"},
                     profile="production")
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 1
        assert "seed-demo refuses to run in production" in result.output
        assert db.session.execute(db.select(db.func.count(User.id))).scalar() == 0
