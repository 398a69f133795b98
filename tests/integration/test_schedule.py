"""Owners and managers add, edit and delete shifts from the week view, in the business's timezone."""
from datetime import datetime, timezone

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Shift


def _post(client, auth, path, **fields):
    return client.post(path, data={"csrf_token": auth.csrf_token("/shifts/new"), **fields})


def _shifts_of(employee):
    return db.session.execute(db.select(Shift).where(Shift.employee_id == employee.id)
                              .order_by(Shift.id)).scalars().all()


def _utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("who", ["owner", "manager"])
def test_owner_and_manager_add_a_shift_in_the_business_timezone(client, auth, world, who):
    auth.login(getattr(world.a, who))
    response = _post(client, auth, "/shifts/new", employee=world.a.emp1.id, day="2026-03-02", start="09:00",
                     end="17:30", title="Bar")
    assert response.status_code == 303 and response.headers["Location"] == "/shifts/?week=2026-03-02"
    shift = _shifts_of(world.a.emp1)[-1]
    assert (shift.starts_at, shift.ends_at, shift.title, shift.status) == (
        _utc(2026, 3, 2, 6, 0), _utc(2026, 3, 2, 14, 30), "Bar", "scheduled")  # Moscow is UTC+3
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "shift.create")).scalar_one()
    assert (event.actor_id, event.shift_id, event.owner_id) == (getattr(world.a, who).id, shift.id, world.a.owner.id)
    week = client.get("/shifts/?week=2026-03-02").get_data(as_text=True)
    assert "09:00–17:30" in week and f"/shifts/{shift.id}/edit" in week


def test_an_end_before_the_start_is_the_next_morning(client, auth, world):
    auth.login(world.a.owner)
    _post(client, auth, "/shifts/new", employee=world.a.emp2.id, day="2026-03-06", start="22:00", end="06:00",
          title="Night")
    shift = _shifts_of(world.a.emp2)[-1]
    assert (shift.starts_at, shift.ends_at) == (_utc(2026, 3, 6, 19, 0), _utc(2026, 3, 7, 3, 0))


def test_overlapping_shifts_are_saved_with_a_warning(client, auth, world):
    auth.login(world.a.manager)
    _post(client, auth, "/shifts/new", employee=world.a.emp1.id, day="2026-03-03", start="08:00", end="16:00",
          title="Bar")
    response = _post(client, auth, "/shifts/new", employee=world.a.emp1.id, day="2026-03-03", start="15:00",
                     end="20:00", title="Hall")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "already has a shift at that time" in page and "03.03 08:00–16:00 Bar" in page
    assert len([s for s in _shifts_of(world.a.emp1) if s.title in ("Bar", "Hall")]) == 2


@pytest.mark.parametrize("fields,message", [
    ({"employee": "EMP_B"}, "Not a valid choice"),
    ({"day": "2026-02-30"}, "Not a valid date value"),
    ({"day": "1999-12-31"}, "Choose a date between"),
    ({"start": "25:00"}, "Not a valid time value"),
    ({"title": ""}, "Say where the shift is."),
])
def test_bad_shift_fields_are_refused_and_nothing_is_written(client, auth, world, fields, message):
    auth.login(world.a.owner)
    good = {"employee": world.a.emp1.id, "day": "2026-03-02", "start": "09:00", "end": "17:00", "title": "Bar"}
    good.update({k: (world.b.emp1.id if v == "EMP_B" else v) for k, v in fields.items()})
    before = db.session.execute(db.select(db.func.count()).select_from(Shift)).scalar_one()
    response = _post(client, auth, "/shifts/new", **good)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.execute(db.select(db.func.count()).select_from(Shift)).scalar_one() == before


def test_manager_edits_a_shift_and_the_change_is_audited(client, auth, world):
    auth.login(world.a.manager)
    form = client.get(f"/shifts/{world.a.shift1.id}/edit").get_data(as_text=True)
    assert 'value="Alpha bar"' in form
    response = _post(client, auth, f"/shifts/{world.a.shift1.id}/edit", employee=world.a.emp2.id,
                     day="2026-04-01", start="10:00", end="18:00", title="Terrace")
    assert response.status_code == 303
    db.session.expire_all()
    shift = db.session.get(Shift, world.a.shift1.id)
    assert (shift.employee_id, shift.starts_at, shift.title) == (world.a.emp2.id, _utc(2026, 4, 1, 7, 0), "Terrace")
    assert db.session.execute(db.select(AuditEvent.shift_id).where(AuditEvent.action == "shift.update")
                              ).scalar_one() == shift.id


def test_a_shift_with_a_request_can_be_neither_edited_nor_deleted(client, auth, world, factory):
    factory.cancellation(world.a.shift1)
    auth.login(world.a.owner)
    edit = _post(client, auth, f"/shifts/{world.a.shift1.id}/edit", employee=world.a.emp1.id, day="2026-04-01",
                 start="10:00", end="18:00", title="Terrace")
    delete = _post(client, auth, f"/shifts/{world.a.shift1.id}/delete")
    assert edit.status_code == delete.status_code == 303
    assert "cannot be deleted" in client.get(delete.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Shift, world.a.shift1.id).title == "Alpha bar"


def test_a_shift_without_a_request_is_deleted_and_the_deletion_audited(client, auth, world):
    auth.login(world.a.owner)
    shift_id = world.a.shift2.id
    response = _post(client, auth, f"/shifts/{shift_id}/delete")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Shift, shift_id) is None
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "shift.delete")).scalar_one()
    assert event.shift_id == shift_id and event.detail["title"] == "Alpha hall"


def test_copying_a_week_skips_shifts_already_there_and_says_how_many(client, auth, world):
    auth.login(world.a.manager)
    for day, start, end in (("2026-03-02", "09:00", "17:00"), ("2026-03-08", "22:00", "06:00"),
                            ("2026-03-09", "09:00", "17:00")):  # the last one is next week's already
        _post(client, auth, "/shifts/new", employee=world.a.emp1.id, day=day, start=start, end=end, title="Bar")
    response = _post(client, auth, "/shifts/copy-week", week="2026-03-04")
    assert response.status_code == 303 and response.headers["Location"] == "/shifts/?week=2026-03-11"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Copied 1 shifts to the next week." in page and "1 were already there" in page
    spans = [(s.starts_at, s.ends_at) for s in _shifts_of(world.a.emp1)
             if _utc(2026, 3, 9) <= s.starts_at < _utc(2026, 4, 1)]
    assert sorted(spans) == [(_utc(2026, 3, 9, 6), _utc(2026, 3, 9, 14)), (_utc(2026, 3, 15, 19), _utc(2026, 3, 16, 3))]
    again = _post(client, auth, "/shifts/copy-week", week="2026-03-02")
    assert "Copied 0 shifts" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert db.session.execute(db.select(db.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "shift.create", AuditEvent.detail["copied_from"].is_not(None))).scalar_one() >= 1


def test_copying_keeps_the_wall_clock_across_a_clock_change(client, auth, factory):
    owner = factory.business("Berlin", tz="Europe/Berlin")  # summer time starts on Sunday 2026-03-29
    employee = factory.user(owner)
    auth.login(owner)
    _post(client, auth, "/shifts/new", employee=employee.id, day="2026-03-27", start="09:00", end="17:00", title="Bar")
    _post(client, auth, "/shifts/copy-week", week="2026-03-23")
    copy = _shifts_of(employee)[-1]
    assert (copy.starts_at, copy.ends_at) == (_utc(2026, 4, 3, 7), _utc(2026, 4, 3, 15))


def test_a_copy_touches_only_the_own_business(client, auth, world, factory):
    auth.login(world.b.owner)
    _post(client, auth, "/shifts/copy-week", week=world.a.shift1.starts_at.date().isoformat())
    assert len(_shifts_of(world.a.emp1)) == 1 and len(_shifts_of(world.b.emp1)) == 2


def _approve(client, auth, cancellation):
    return client.post(f"/cancellations/{cancellation.id}/decide",
                       data={"csrf_token": auth.csrf_token("/shifts/new"), "decision": "approve"})


def test_an_approved_cancellation_opens_the_shift_for_another_employee(client, auth, world, factory):
    cancellation = factory.cancellation(world.a.shift1)
    auth.login(world.a.manager)
    _approve(client, auth, cancellation)
    week = client.get(f"/shifts/?week={world.a.shift1.starts_at.date().isoformat()}").get_data(as_text=True)
    assert f'id="reassign-{world.a.shift1.id}"' in week and "Open shift: give to" in week
    response = _post(client, auth, f"/shifts/{world.a.shift1.id}/reassign", employee=world.a.emp2.id)
    assert response.status_code == 303
    db.session.expire_all()
    shift = db.session.get(Shift, world.a.shift1.id)
    assert (shift.employee_id, shift.status) == (world.a.emp2.id, "scheduled")
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "shift.reassign")).scalar_one()
    assert event.detail == {"from_employee_id": world.a.emp1.id, "to_employee_id": world.a.emp2.id}
    again = _post(client, auth, f"/shifts/{world.a.shift1.id}/reassign", employee=world.a.emp1.id)
    assert "not open" in client.get(again.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Shift, world.a.shift1.id).employee_id == world.a.emp2.id


@pytest.mark.parametrize("target", ["emp1", "b_emp1"])
def test_an_open_shift_goes_neither_back_to_its_employee_nor_to_another_business(client, auth, world, factory,
                                                                                 target):
    cancellation = factory.cancellation(world.a.shift1)
    auth.login(world.a.owner)
    _approve(client, auth, cancellation)
    employee = world.b.emp1 if target == "b_emp1" else world.a.emp1
    _post(client, auth, f"/shifts/{world.a.shift1.id}/reassign", employee=employee.id)
    db.session.expire_all()
    assert (db.session.get(Shift, world.a.shift1.id).status,
            db.session.get(Shift, world.a.shift1.id).employee_id) == ("cancelled", world.a.emp1.id)


def test_a_scheduled_shift_cannot_be_reassigned(client, auth, world):
    auth.login(world.a.owner)
    _post(client, auth, f"/shifts/{world.a.shift2.id}/reassign", employee=world.a.emp1.id)
    db.session.expire_all()
    assert db.session.get(Shift, world.a.shift2.id).employee_id == world.a.emp2.id
