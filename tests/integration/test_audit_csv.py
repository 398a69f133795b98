"""The audit CSV export: streamed, complete, and no cell a spreadsheet could run whichever separator it
splits lines on (`,` as written, `;` in a Russian or German Excel, tab in an import dialog)."""
import contextvars
import csv
import io

import pytest
from flask.testing import FlaskClient

from portal.extensions import db
from portal.models import AuditEvent, utcnow

HOSTILE = ["Mozilla/5.0;=2+3;", "x,=HYPERLINK(\"http://evil\")", "a\t+1", "ok; -2+3", "@SUM(A1)", '"=1+1',
           ' "=cmd|\' /C calc\'!A0', "\uff1d1+1", "-1", "line\n=1+1", "a;\"@x\""]


def _dangerous(piece):
    """What Excel or LibreOffice would take for a formula: =, +, -, @ (or their full-width forms) first, after
    any blanks and quotes."""
    return piece.lstrip(' \t\r\n\v\f"')[:1] in ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _export(client, auth, world):
    for index, agent in enumerate(HOSTILE):
        db.session.add(AuditEvent(owner_id=world.a.owner.id, actor_id=world.a.emp1.id, actor_role="employee",
                                  action="media.view", at=utcnow(), ip="203.0.113.7", user_agent=agent,
                                  detail={"filename": agent, "comment": f"=cmd{index}"}))
    db.session.commit()
    auth.login(world.a.owner)
    response = client.get("/audit/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return response.data.decode("utf-8-sig")


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_no_cell_starts_a_formula_when_a_spreadsheet_parses_with(client, auth, world, separator):
    text = _export(client, auth, world)
    cells = [cell for row in csv.reader(io.StringIO(text), delimiter=separator) for cell in row]
    assert cells and not [cell for cell in cells if _dangerous(cell)]


@pytest.mark.parametrize("separator", [",", ";", "\t", "\n"])
def test_no_piece_starts_a_formula_even_when_split_without_regard_to_quotes(client, auth, world, separator):
    text = _export(client, auth, world)
    assert not [piece for piece in text.split(separator) if _dangerous(piece)]


def test_the_values_survive_apart_from_the_guard(client, auth, world):
    rows = list(csv.DictReader(io.StringIO(_export(client, auth, world))))
    agents = {row["user_agent"] for row in rows}
    assert "Mozilla/5.0;'=2+3;" in agents and "'-1" in agents and len(rows) == len(HOSTILE)


def test_the_export_streams_in_chunks_with_the_header_first(client, auth, world, monkeypatch):
    monkeypatch.setattr("portal.web.audit.CSV_BATCH", 10)
    db.session.add_all(AuditEvent(owner_id=world.a.owner.id, actor_id=world.a.owner.id, action="media.view",
                                  at=utcnow(), shift_id=index) for index in range(25))
    db.session.commit()
    auth.login(world.a.owner)
    # unbuffered, read chunk by chunk in one context of its own, as a server reads it
    context = contextvars.Context()
    response = context.run(FlaskClient.open, client, "/audit/export.csv", buffered=False)
    assert response.is_streamed
    chunks = context.run(lambda: list(response.iter_encoded()))
    context.run(response.close)
    assert chunks[0].decode("utf-8-sig").startswith('"time_utc","actor"') and chunks[0].count(b"\n") == 1
    assert [chunk.count(b"\n") for chunk in chunks[1:]] == [10, 10, 5]
