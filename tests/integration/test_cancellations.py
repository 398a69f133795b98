"""The cancellation workflow through HTTP: request with proofs, refused files, outages, withdraw, decide."""
import html
import io
import re

import pytest

from portal.extensions import db
from portal.media import storage
from portal.models import AuditEvent, MediaObject, ShiftCancellation
from tests.badfiles import REFUSED
from tests.conftest import Auth, csrf_token_from
from tests.media_fixtures import jpeg_bytes, pdf_bytes


def _post(client, url, htmx=False, **data):
    token = csrf_token_from(client.get("/cancellations/").get_data(as_text=True))
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data={"csrf_token": token, **data}, content_type="multipart/form-data", headers=headers)


def _counts():
    return tuple(db.session.execute(db.select(db.func.count(m.id))).scalar()
                 for m in (ShiftCancellation, MediaObject, AuditEvent))


def _objects():
    return sorted(o.key for o in storage().iter_objects())


def test_employee_requests_with_a_jpeg_and_a_pdf(client, auth, world):
    auth.login(world.a.emp1)
    response = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="Грипп, справка",
                     proofs=[(io.BytesIO(jpeg_bytes()), "photo.jpg"), (io.BytesIO(pdf_bytes()), "справка.pdf")])
    assert response.status_code == 302
    cancellation = db.session.execute(db.select(ShiftCancellation)).scalar_one()
    assert cancellation.reason == "Грипп, справка" and cancellation.status == "pending"
    assert sorted(p.content_type for p in cancellation.proofs) == ["application/pdf", "image/jpeg"]
    db.session.refresh(world.a.shift1)
    assert world.a.shift1.status == "cancellation_requested"
    actions = sorted(e.action for e in db.session.execute(db.select(AuditEvent)).scalars())
    assert actions == ["cancellation.request", "media.upload", "media.upload"]
    page = client.get("/cancellations/").get_data(as_text=True)
    assert "справка.pdf" in page and "/thumbnail" in page


def test_htmx_request_is_answered_with_a_redirect_header(client, auth, world):
    auth.login(world.a.emp1)
    response = _post(client, "/cancellations/", htmx=True, shift_id=world.a.shift1.id, reason="Ill",
                     proofs=(io.BytesIO(jpeg_bytes()), "a.jpg"))
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/cancellations/"


def test_files_sent_through_the_form_count_against_the_persons_upload_allowance(app, client, auth, world, factory):
    app.extensions["quotas"]["uploads"].__init__("memory://", "3 per hour", "uploads", "MEDIA_UPLOAD_RATE_LIMIT")
    auth.login(world.a.emp1)
    sent = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="Грипп",
                 proofs=[(io.BytesIO(jpeg_bytes()), "a.jpg"), (io.BytesIO(pdf_bytes()), "b.pdf")])
    assert sent.status_code == 302
    cancellation = db.session.execute(db.select(ShiftCancellation)).scalar_one()
    more = _post(client, f"/cancellations/{cancellation.id}/proofs", htmx=True,
                 proofs=[(io.BytesIO(jpeg_bytes()), "c.jpg"), (io.BytesIO(jpeg_bytes()), "d.jpg")])
    assert more.status_code == 429 and 0 < int(more.headers["Retry-After"]) <= 3600
    assert "Too many uploads in a short time." in more.get_data(as_text=True)
    before, objects = _counts(), _objects()
    # a new request is refused the same way, with what was typed kept
    later = factory.shift(world.a.emp1, title="Late bar")
    page = _post(client, "/cancellations/", shift_id=later.id, reason="Температура 39",
                 proofs=[(io.BytesIO(jpeg_bytes()), "e.jpg"), (io.BytesIO(jpeg_bytes()), "f.jpg")])
    assert page.status_code == 429 and "Температура 39" in page.get_data(as_text=True)
    # htmx swaps the form's feedback alone (static/js/portal.js swaps a 429), the typed reason stays in place
    block = _post(client, "/cancellations/", htmx=True, shift_id=later.id, reason="Температура 39",
                  proofs=[(io.BytesIO(jpeg_bytes()), "e.jpg"), (io.BytesIO(jpeg_bytes()), "f.jpg")])
    body = block.get_data(as_text=True)
    assert block.status_code == 429 and body.strip().startswith('<div id="form-feedback"') and "<html" not in body
    assert "Too many uploads in a short time." in body
    assert _counts() == before and _objects() == objects
    assert _post(client, f"/cancellations/{cancellation.id}/proofs", htmx=True,
                 proofs=(io.BytesIO(jpeg_bytes()), "g.jpg")).status_code == 200  # one more still fits


def test_an_unreachable_allowance_store_lets_the_upload_through(app, client, auth, world, caplog):
    # the allowance brakes abuse; its counters being down must not stop a sick note (sign-in fails closed instead)
    app.extensions["quotas"]["uploads"].__init__("redis://127.0.0.1:1/0?socket_connect_timeout=1", "1 per hour",
                                                 "uploads", "MEDIA_UPLOAD_RATE_LIMIT")
    auth.login(world.a.emp1)
    sent = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="Грипп",
                 proofs=[(io.BytesIO(jpeg_bytes()), "a.jpg"), (io.BytesIO(pdf_bytes()), "b.pdf")])
    assert sent.status_code == 302
    assert db.session.execute(db.select(ShiftCancellation)).scalar_one().status == "pending"
    assert "quota uploads could not be read; allowed" in caplog.text


@pytest.mark.parametrize("bad", ["html named jpg", "empty", "pixel flood png"])
def test_a_file_refused_by_the_request_keeps_the_reason_and_stores_nothing(client, auth, world, bad):
    auth.login(world.a.emp1)
    data, name, _ = REFUSED[bad]
    before = (_counts(), _objects())
    response = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="Keep this text",
                     proofs=[(io.BytesIO(jpeg_bytes()), "good.jpg"), (io.BytesIO(data), name)])
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Keep this text" in page and name in page and "Nothing was sent" in page
    cancellations, media, events = before[0]
    assert (_counts(), _objects()) == ((cancellations, media, events + 1), before[1])  # only the rejection's audit
    rejection = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "media.reject")).scalar_one()
    assert rejection.actor_id == world.a.emp1.id and rejection.detail["code"] == REFUSED[bad][2]


@pytest.mark.parametrize("bad, message", [("pdf with javascript", "This PDF contains a script"),
                                          ("truncated jpeg", "damaged or incomplete")])
def test_a_file_refused_by_the_worker_shows_its_message_and_stores_nothing_under_a_final_key(
        client, auth, world, bad, message):
    world.a.emp1.language = "en"
    db.session.commit()
    auth.login(world.a.emp1)
    data, name, code = REFUSED[bad]
    response = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="Keep this text",
                     proofs=[(io.BytesIO(jpeg_bytes()), "good.jpg"), (io.BytesIO(data), name)])
    assert response.status_code == 302
    cancellation = db.session.execute(db.select(ShiftCancellation)).scalar_one()
    good, refused = sorted(cancellation.uploads, key=lambda m: m.original_filename != "good.jpg")
    assert (good.status, refused.status) == ("ready", "refused")
    assert refused.refusal_code == code and message in refused.refusal_message
    assert _objects() == sorted([good.storage_key, good.thumbnail_key])  # the incoming objects are gone too
    assert cancellation.submitted_at is None  # not shown to managers while a file is refused
    page = client.get("/cancellations/").get_data(as_text=True)
    assert message in page and 'name="replaces"' in page
    auth.logout()
    auth.login(world.a.owner)
    assert "Keep this text" not in client.get("/cancellations/").get_data(as_text=True)


def test_replacing_the_refused_file_sends_the_request(client, auth, world):
    auth.login(world.a.emp1)
    data, name, _ = REFUSED["pdf with javascript"]
    _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="Flu",
          proofs=[(io.BytesIO(jpeg_bytes()), "good.jpg"), (io.BytesIO(data), name)])
    cancellation = db.session.execute(db.select(ShiftCancellation)).scalar_one()
    refused = next(m for m in cancellation.uploads if m.status == "refused")
    response = _post(client, f"/cancellations/{cancellation.id}/proofs", htmx=True, replaces=refused.id,
                     proofs=(io.BytesIO(pdf_bytes()), "clean.pdf"))
    assert response.status_code == 200 and "clean.pdf" in response.get_data(as_text=True)
    db.session.expire_all()
    assert sorted(m.original_filename for m in cancellation.uploads) == ["clean.pdf", "good.jpg"]
    assert cancellation.submitted_at is not None
    auth.logout()
    auth.login(world.a.owner)
    assert "Flu" in client.get("/cancellations/").get_data(as_text=True)


def test_htmx_error_answers_only_the_feedback_block(client, auth, world):
    auth.login(world.a.emp1)
    data, name, _ = REFUSED["html named jpg"]
    response = _post(client, "/cancellations/", htmx=True, shift_id=world.a.shift1.id, reason="x",
                     proofs=(io.BytesIO(data), name))
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert body.strip().startswith('<div id="form-feedback"') and "<html" not in body
    assert "This kind of file is not accepted" in body


def test_missing_reason_and_missing_files_are_both_reported(client, auth, world):
    auth.login(world.a.emp1)
    response = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Write a short reason." in page and "Attach at least one proof file" in page


def test_a_missing_reason_is_marked_at_its_field(client, auth, world):
    auth.login(world.a.emp1)
    page = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="",
                 proofs=(io.BytesIO(jpeg_bytes()), "a.jpg")).get_data(as_text=True)
    reason = re.search(r"<textarea id=\"reason\"[^>]*>", page).group(0)
    assert 'aria-invalid="true"' in reason and "autofocus" in reason
    errors = page.split('id="reason-errors"', 1)[1].split("</div>", 1)[0]
    assert "Write a short reason." in errors


def test_under_htmx_field_errors_go_out_of_band_to_their_field(client, auth, world):
    auth.login(world.a.emp1)
    body = _post(client, "/cancellations/", htmx=True, shift_id=world.a.shift1.id, reason="",
                 proofs=(io.BytesIO(jpeg_bytes()), "a.jpg")).get_data(as_text=True)
    match = re.search(r'<div id="reason-errors"[^>]*hx-swap-oob="true"[^>]*>(.*?)</div>', body, re.S)
    assert match and "Write a short reason." in match.group(1)


def test_a_shift_requested_in_another_tab_says_it_already_has_a_request(client, auth, world, factory):
    auth.login(world.a.emp1)
    token = csrf_token_from(client.get("/cancellations/").get_data(as_text=True))  # the other tab's form
    factory.cancellation(world.a.shift1)
    response = client.post("/cancellations/", content_type="multipart/form-data", data={
        "csrf_token": token, "shift_id": world.a.shift1.id, "reason": "ill",
        "proofs": (io.BytesIO(jpeg_bytes()), "a.jpg")})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This shift already has a request." in page and "Not a valid choice" not in page
    htmx = client.post("/cancellations/", content_type="multipart/form-data", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "shift_id": world.a.shift1.id, "reason": "ill",
        "proofs": (io.BytesIO(jpeg_bytes()), "a.jpg")}).get_data(as_text=True)
    assert re.search(r'id="shift_id-errors"[^>]*hx-swap-oob="true"[^>]*>\s*<p[^>]*>This shift already has a request.',
                     htmx)


def test_a_broken_body_under_htmx_gets_one_clear_message(client, auth, world):
    auth.login(world.a.emp1)
    token = csrf_token_from(client.get("/cancellations/").get_data(as_text=True))
    body = b"--xyz\r\nContent-Disposition: form-data; name=\"reason\"\r\n\r\nill\r\n--abc--garbage"
    response = client.post("/cancellations/", data=body, content_type="multipart/form-data; boundary=xyz",
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and response.headers["HX-Retarget"] == "#flash-area"
    assert "The form arrived incomplete" in page and "Write a short reason" not in page


def test_too_many_files_are_refused(client, auth, world, app):
    app.config["MEDIA_MAX_FILES"] = 2
    auth.login(world.a.emp1)
    files = [(io.BytesIO(jpeg_bytes()), f"{i}.jpg") for i in range(3)]
    response = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="x", proofs=files)
    assert response.status_code == 422 and "at most 2 files" in response.get_data(as_text=True)


def test_a_broken_multipart_body_is_400(client, auth, world):
    auth.login(world.a.emp1)
    body = b"--xyz\r\nContent-Disposition: form-data; name=\"reason\"\r\n\r\nill\r\n--abc--garbage"
    response = client.post("/cancellations/", data=body, content_type="multipart/form-data; boundary=xyz")
    assert response.status_code == 400


def test_a_body_over_the_request_limit_is_413(client, auth, world, app):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    auth.login(world.a.emp1)
    response = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="x",
                     proofs=(io.BytesIO(b"\xff" * 60_000), "big.jpg"))
    assert response.status_code == 413
    assert "at most 10 MB" in response.get_data(as_text=True)  # the limit of one file, in MB


def test_storage_outage_leaves_no_request_and_keeps_the_form(client, auth, world, app):
    from portal.media.storage import build_storage

    app.config.update(MEDIA_STORAGE_PROVIDER="s3", MEDIA_STORAGE_ENDPOINT="http://127.0.0.1:9",
                      MEDIA_STORAGE_MAX_ATTEMPTS=1, MEDIA_STORAGE_CONNECT_TIMEOUT=1)
    app.extensions["media_storage"] = build_storage(app.config)
    auth.login(world.a.emp1)
    response = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="Still here",
                     proofs=(io.BytesIO(jpeg_bytes()), "a.jpg"))
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "nothing was saved" in page and "Still here" in page
    assert _counts() == (0, 0, 0)
    db.session.refresh(world.a.shift1)
    assert world.a.shift1.status == "scheduled"


def test_employee_adds_and_removes_proofs_while_pending(client, auth, proofs):
    auth.login(proofs.a.emp1)
    added = _post(client, f"/cancellations/{proofs.a.cancellation.id}/proofs", htmx=True,
                  proofs=(io.BytesIO(pdf_bytes()), "second.pdf"))
    assert added.status_code == 200 and "second.pdf" in added.get_data(as_text=True)
    assert len(proofs.a.cancellation.proofs) == 2
    removed = _post(client, f"/cancellations/{proofs.a.cancellation.id}/proofs/{proofs.a.proof.id}/delete",
                    htmx=True)
    assert removed.status_code == 200 and "справка.jpg" not in removed.get_data(as_text=True)
    assert not storage().exists(proofs.a.proof.storage_key)
    db.session.expire_all()
    assert [p.original_filename for p in proofs.a.cancellation.proofs] == ["second.pdf"]


def _live_proofs(cancellation):
    db.session.expire_all()
    return [p.original_filename for p in cancellation.proofs]


def test_the_file_cap_counts_every_proof_of_the_request(client, auth, proofs, app):
    app.config["MEDIA_MAX_FILES"] = 3
    auth.login(proofs.a.emp1)
    url = f"/cancellations/{proofs.a.cancellation.id}/proofs"
    two = [(io.BytesIO(jpeg_bytes()), "b.jpg"), (io.BytesIO(jpeg_bytes()), "c.jpg")]
    assert _post(client, url, htmx=True, proofs=two).status_code == 200
    before = _objects()
    over = _post(client, url, htmx=True, proofs=(io.BytesIO(jpeg_bytes()), "d.jpg"))
    assert over.status_code == 422 and "already has the most files allowed (3)" in over.get_data(as_text=True)
    assert _live_proofs(proofs.a.cancellation) == ["справка.jpg", "b.jpg", "c.jpg"]
    # the room is counted while the file's put runs: the refused file's incoming object is deleted again
    assert _objects() == before


def test_the_cap_message_says_how_many_more_fit(client, auth, proofs, app):
    app.config["MEDIA_MAX_FILES"] = 2
    auth.login(proofs.a.emp1)
    response = _post(client, f"/cancellations/{proofs.a.cancellation.id}/proofs", htmx=True,
                     proofs=[(io.BytesIO(jpeg_bytes()), "b.jpg"), (io.BytesIO(jpeg_bytes()), "c.jpg")])
    assert response.status_code == 422 and "can take 1 more files" in response.get_data(as_text=True)
    assert _live_proofs(proofs.a.cancellation) == ["справка.jpg"]


def test_without_javascript_a_refused_added_file_answers_422_with_the_page(client, auth, proofs):
    auth.login(proofs.a.emp1)
    before = _objects()
    response = _post(client, f"/cancellations/{proofs.a.cancellation.id}/proofs",
                     proofs=(io.BytesIO(REFUSED["html named jpg"][0]), "note.jpg"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in page
    assert "This kind of file is not accepted" in page or "не принимаются" in page
    assert f'id="cancellation-{proofs.a.cancellation.id}"' in page and _objects() == before


def test_without_javascript_a_file_the_worker_refuses_is_shown_on_the_card(client, auth, proofs):
    proofs.a.emp1.language = "en"
    db.session.commit()
    auth.login(proofs.a.emp1)
    before = _objects()
    response = _post(client, f"/cancellations/{proofs.a.cancellation.id}/proofs",
                     proofs=(io.BytesIO(REFUSED["pdf with javascript"][0]), "note.pdf"))
    assert response.status_code == 303 and _objects() == before
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This PDF contains a script" in page and "note.pdf" in page


def test_proofs_are_refused_when_the_request_is_decided_during_the_upload(client, auth, proofs, app, monkeypatch):
    """A manager approves between the file check and the final commit: the late files are not attached."""
    import importlib

    images = importlib.import_module("portal.media.images")
    real_thumbnail = images.make_thumbnail
    cancellation_id = proofs.a.cancellation.id

    def decide_meanwhile(staged, content_type, ahead=None):
        made = real_thumbnail(staged, content_type, ahead)  # the job's decode, while the file's put runs
        with db.engine.begin() as other:  # another request, on its own connection, wins the race
            other.execute(db.update(ShiftCancellation).where(ShiftCancellation.id == cancellation_id)
                          .values(status="approved"))
        return made

    monkeypatch.setattr(images, "make_thumbnail", decide_meanwhile)
    auth.login(proofs.a.emp1)
    before_objects, before_rows = _objects(), _counts()[1]
    response = _post(client, f"/cancellations/{cancellation_id}/proofs", htmx=True,
                     proofs=(io.BytesIO(jpeg_bytes()), "late.jpg"))
    assert response.status_code == 409
    assert _objects() == before_objects and _counts()[1] == before_rows
    assert _live_proofs(proofs.a.cancellation) == ["справка.jpg"]


def test_withdraw_puts_the_shift_back(client, auth, proofs):
    auth.login(proofs.a.emp1)
    response = _post(client, f"/cancellations/{proofs.a.cancellation.id}/withdraw", htmx=True)
    assert response.status_code == 200
    db.session.expire_all()
    assert proofs.a.cancellation.status == "withdrawn" and proofs.a.shift1.status == "scheduled"
    again = _post(client, f"/cancellations/{proofs.a.cancellation.id}/withdraw", htmx=True)
    assert again.status_code == 409


@pytest.mark.parametrize("decision,cancellation_status,shift_status", [
    ("approve", "approved", "cancelled"), ("reject", "rejected", "scheduled")])
def test_owner_decides_in_place(client, auth, proofs, decision, cancellation_status, shift_status):
    auth.login(proofs.a.owner)
    response = _post(client, f"/cancellations/{proofs.a.cancellation.id}/decide", htmx=True,
                     decision=decision, comment="Выздоравливайте")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith("<article")
    assert "Выздоравливайте" in body
    db.session.expire_all()
    assert proofs.a.cancellation.status == cancellation_status and proofs.a.shift1.status == shift_status
    assert proofs.a.cancellation.decided_by_id == proofs.a.owner.id
    twice = _post(client, f"/cancellations/{proofs.a.cancellation.id}/decide", htmx=True, decision="reject")
    assert twice.status_code == 409


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_an_employee_promoted_to_manager_cannot_decide_their_own_request(app, client, auth, proofs, decision):
    owner = app.test_client()
    Auth(owner).login(proofs.a.owner)
    token = csrf_token_from(owner.get("/staff/").get_data(as_text=True))
    assert owner.post(f"/staff/{proofs.a.emp1.id}/role", data={"csrf_token": token, "role": "manager"}).status_code \
        == 303
    auth.login(proofs.a.emp1)  # now a manager, with their request still pending
    assert f'id="cancellation-{proofs.a.cancellation.id}"' not in client.get("/").get_data(as_text=True)
    page = client.get("/cancellations/").get_data(as_text=True)
    assert "This is your own request: another manager or the owner decides it." in page
    assert f'action="/cancellations/{proofs.a.cancellation.id}/decide"' not in page
    response = _post(client, f"/cancellations/{proofs.a.cancellation.id}/decide", htmx=True, decision=decision)
    assert response.status_code == 403
    assert "This is your own request: another manager or the owner decides it." in response.get_data(as_text=True)
    db.session.expire_all()
    assert proofs.a.cancellation.status == "pending" and proofs.a.cancellation.decided_by_id is None
    assert proofs.a.shift1.status == "cancellation_requested"
    assert not AuditEvent.query.filter(AuditEvent.action.like("cancellation.%")).all()
    # another manager still decides it
    auth.logout()
    auth.login(proofs.a.manager)
    assert f'id="cancellation-{proofs.a.cancellation.id}"' in client.get("/").get_data(as_text=True)
    assert _post(client, f"/cancellations/{proofs.a.cancellation.id}/decide", htmx=True,
                 decision=decision).status_code == 200


def test_employee_cannot_act_on_a_decided_request(client, auth, proofs):
    proofs.a.cancellation.status = "approved"
    db.session.commit()
    auth.login(proofs.a.emp1)
    response = _post(client, f"/cancellations/{proofs.a.cancellation.id}/proofs", htmx=True,
                     proofs=(io.BytesIO(jpeg_bytes()), "late.jpg"))
    assert response.status_code == 409


def test_team_list_filters_by_status_and_employee_and_paginates(client, auth, proofs, factory):
    for index in range(25):
        shift = factory.shift(proofs.a.emp2, title=f"Extra {index}")
        factory.cancellation(shift, reason=f"reason {index}")
    auth.login(proofs.a.manager)
    first = client.get("/cancellations/").get_data(as_text=True)
    assert "26 requests" in first and first.count('class="card cancellation') == 20
    older = re.search(r'href="(/cancellations/\?before=[^"]+)" rel="next"', first)[1]
    second = client.get(html.unescape(older)).get_data(as_text=True)
    assert second.count('class="card cancellation') == 6 and 'rel="next"' not in second and 'rel="prev"' in second
    only_emp1 = client.get(f"/cancellations/?employee={proofs.a.emp1.id}").get_data(as_text=True)
    assert "1 request" in only_emp1 and proofs.a.cancellation.reason in only_emp1
    proofs.a.cancellation.status = "approved"
    db.session.commit()
    approved = client.get("/cancellations/?status=approved").get_data(as_text=True)
    assert "1 request" in approved
    block = client.get("/cancellations/?status=pending", headers={"HX-Request": "true"})
    assert block.get_data(as_text=True).lstrip().startswith('<div id="cancellation-list"')
    assert "HX-Request" in block.headers["Vary"]


def test_a_second_request_for_the_same_shift_is_refused(client, auth, world):
    auth.login(world.a.emp1)
    first = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="one",
                  proofs=(io.BytesIO(jpeg_bytes()), "a.jpg"))
    assert first.status_code == 302
    from portal import cancellations
    from portal.media import orchestrator
    from portal.media.orchestrator import Upload

    validated = [orchestrator().check(Upload(io.BytesIO(jpeg_bytes()), "b.jpg"))]
    with pytest.raises(cancellations.WorkflowError):  # e.g. a second tab that still shows the shift
        cancellations.request_cancellation(world.a.shift1, "two", validated, actor=world.a.emp1)
    assert db.session.execute(db.select(db.func.count(ShiftCancellation.id))).scalar() == 1


def test_a_request_still_uploading_is_invisible_and_cannot_be_decided(client, auth, world, factory):
    cancellation = factory.cancellation(world.a.shift1)
    cancellation.submitted_at = None
    db.session.commit()
    auth.login(world.a.owner)
    assert cancellation.reason not in client.get("/cancellations/").get_data(as_text=True)
    response = _post(client, f"/cancellations/{cancellation.id}/decide", htmx=True, decision="approve")
    assert response.status_code == 409
    db.session.expire_all()
    assert cancellation.status == "pending"


class FailingPut:
    """The app's store, except that the put number `fail_on` raises (a StorageError unless told otherwise)."""

    def __init__(self, real, fail_on, error=None):
        self.real, self.fail_on, self.puts, self.error = real, fail_on, 0, error

    def __getattr__(self, name):
        return getattr(self.real, name)

    def put(self, key, stream, **kwargs):
        from portal.media.storage import StorageError

        self.puts += 1
        if self.puts == self.fail_on:
            raise self.error or StorageError("the store went away", operation="put", key=key)
        return self.real.put(key, stream, **kwargs)


def test_a_put_failing_with_an_unexpected_error_leaves_nothing_behind(client, auth, world, app):
    """A put that raises something else than a StorageError (a bug in a store client, a closed stream) while the
    other file's put lands: the request fails, and the file that landed is deleted with everything else."""
    real = app.extensions["media_storage"]
    app.extensions["media_storage"] = FailingPut(real, fail_on=2, error=RuntimeError("a bug in the store's client"))
    auth.login(world.a.emp1)
    with pytest.raises(RuntimeError):  # the test app lets it through; in production it is a logged 500
        _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="x",
              proofs=[(io.BytesIO(jpeg_bytes()), "1.jpg"), (io.BytesIO(jpeg_bytes(color=(1, 1, 1))), "2.jpg")])
    db.session.rollback()
    assert [o.key for o in real.iter_objects()] == [] and _counts() == (0, 0, 0)
    db.session.refresh(world.a.shift1)
    assert world.a.shift1.status == "scheduled"


@pytest.mark.parametrize("where", ["decode", "row"])
def test_a_job_whose_time_runs_out_leaves_nothing_under_the_final_keys(client, auth, world, app, monkeypatch, where):
    """RQ ends a job that runs too long by raising JobTimeoutException in it: during the thumbnail's decode that
    is not a refusal of the file, and while the row is written it leaves neither final object; the retry works."""
    import importlib

    from rq.timeouts import JobTimeoutException

    from portal import cancellations

    def time_is_up(*args, **kwargs):
        raise JobTimeoutException("the job exceeded its timeout")

    if where == "decode":
        monkeypatch.setattr(importlib.import_module("portal.media.images"), "image_thumbnail", time_is_up)
    else:
        monkeypatch.setattr(cancellations, "_submit_when_complete", time_is_up)
    auth.login(world.a.emp1)
    response = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="x",
                     proofs=(io.BytesIO(jpeg_bytes()), "1.jpg"))
    assert response.status_code == 302  # the upload itself is taken in; its inline job failed
    row = db.session.execute(db.select(MediaObject)).scalar_one()
    assert row.status == "processing" and _objects() == [row.incoming_key]
    monkeypatch.undo()
    cancellations.process_proof(row.id)  # the retry
    db.session.expire_all()
    assert row.status == "ready" and _objects() == sorted([row.storage_key, row.thumbnail_key])


def test_failure_on_a_later_file_leaves_no_object_behind(client, auth, world, app):
    real = app.extensions["media_storage"]
    app.extensions["media_storage"] = FailingPut(real, fail_on=2)  # the second file's incoming put
    auth.login(world.a.emp1)
    response = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="x",
                     proofs=[(io.BytesIO(jpeg_bytes()), "1.jpg"), (io.BytesIO(jpeg_bytes(color=(1, 1, 1))), "2.jpg")])
    assert response.status_code == 503
    assert [o.key for o in real.iter_objects()] == [] and _counts() == (0, 0, 0)
    db.session.refresh(world.a.shift1)
    assert world.a.shift1.status == "scheduled"


def test_a_job_that_fails_on_the_store_leaves_its_row_processing_for_the_retry(client, auth, world, app):
    from portal import cancellations

    real = app.extensions["media_storage"]
    app.extensions["media_storage"] = FailingPut(real, fail_on=3)  # the job's thumbnail put, after the file's
    auth.login(world.a.emp1)
    response = _post(client, "/cancellations/", shift_id=world.a.shift1.id, reason="x",
                     proofs=(io.BytesIO(jpeg_bytes()), "1.jpg"))
    assert response.status_code == 302
    row = db.session.execute(db.select(MediaObject)).scalar_one()
    assert row.status == "processing" and _objects() == [row.incoming_key]  # nothing half-written under the final key
    app.extensions["media_storage"] = real
    cancellations.process_proof(row.id)  # what the queue's retry (or verify --fix) runs
    db.session.expire_all()
    assert row.status == "ready" and _objects() == sorted([row.storage_key, row.thumbnail_key])
    assert db.session.get(ShiftCancellation, row.subject_id).submitted_at is not None


def test_without_javascript_a_refused_action_goes_back_with_a_message(client, auth, proofs):
    proofs.a.cancellation.status = "approved"
    db.session.commit()
    auth.login(proofs.a.emp1)
    response = _post(client, f"/cancellations/{proofs.a.cancellation.id}/withdraw")
    assert response.status_code == 303 and response.headers["Location"] == "/cancellations/"
    assert "already been decided or withdrawn" in client.get("/cancellations/").get_data(as_text=True)


def test_expired_form_under_htmx_goes_to_the_message_area(client, auth, proofs):
    auth.login(proofs.a.owner)
    response = client.post(f"/cancellations/{proofs.a.cancellation.id}/decide", data={"decision": "approve"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#flash-area" and "This form has expired" in response.get_data(as_text=True)
    assert 'id="flash-area"' in client.get("/cancellations/").get_data(as_text=True)


def test_history_restore_gets_the_whole_page(client, auth, proofs):
    auth.login(proofs.a.owner)
    response = client.get("/cancellations/?status=pending",
                          headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in response.get_data(as_text=True)


def test_date_filters_use_the_business_day(client, auth, proofs):
    from datetime import datetime, timezone

    # 00:10 in Moscow on 20 November is 21:10 UTC on the 19th
    proofs.a.cancellation.created_at = datetime(2026, 11, 19, 21, 10, tzinfo=timezone.utc)
    db.session.commit()
    auth.login(proofs.a.owner)
    on_20th = client.get("/cancellations/?date_from=2026-11-20&date_to=2026-11-20").get_data(as_text=True)
    on_19th = client.get("/cancellations/?date_from=2026-11-19&date_to=2026-11-19").get_data(as_text=True)
    assert proofs.a.cancellation.reason in on_20th and proofs.a.cancellation.reason not in on_19th


def test_crafted_query_arguments_do_not_break_pages(client, auth, proofs):
    auth.login(proofs.a.owner)
    assert client.get("/audit/?endpoint=x&_external=1").status_code == 200
    assert client.get("/cancellations/?endpoint=x").status_code == 200
    assert client.get("/shifts/?week=9999-12-31").status_code == 200


def test_withdrawn_has_a_russian_label(client, auth, proofs):
    proofs.a.cancellation.status = "withdrawn"
    proofs.a.emp1.language = "ru"
    db.session.commit()
    auth.login(proofs.a.emp1)
    assert "Отозван" in client.get("/cancellations/").get_data(as_text=True)
