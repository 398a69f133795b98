"""Save a screenshot of every page under docs/screenshots/ (make screenshots): phone 390x844 and desktop
1366x800, Russian and English, named <page>[-<role>]-<phone|desktop>-<ru|en>.png.

Builds a throwaway app (SQLite and local storage in a temporary folder), seeds the demo businesses, files
cancellation requests with proofs (one pending with thumbnails, one decided, one with a refused file),
serves it on a loopback port and drives Debian's Chromium through the pages of tests/e2e/site_pages.py,
the list the accessibility test checks."""
import io
import os
import shutil
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

import pikepdf
from PIL import Image, ImageDraw
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 800}}
# Pages whose look differs by role get one screenshot per role; the others are taken as their first role.
PER_ROLE = {"home", "cancellations", "shift", "account"}


def sick_note_jpeg():
    """A drawn sick note: a page with a stamp and lines of text."""
    image = Image.new("RGB", (900, 1200), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.text((80, 80), "SICK NOTE  No 4512", fill=(40, 40, 60), font_size=48)
    for row in range(14):
        y = 220 + row * 60
        draw.line((80, y, 820 - (row % 3) * 90, y), fill=(120, 120, 140), width=6)
    draw.ellipse((560, 860, 800, 1100), outline=(40, 70, 170), width=10)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def a_pdf():
    """A one-page PDF of a drawn certificate (Pillow writes the image as a PDF page)."""
    image = Image.new("RGB", (620, 877), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 580, 140), fill=(36, 86, 214))
    draw.text((60, 70), "MEDICAL CERTIFICATE", fill=(255, 255, 255), font_size=36)
    for row in range(10):
        draw.line((60, 200 + row * 50, 560 - (row % 4) * 60, 200 + row * 50), fill=(90, 90, 110), width=5)
    buffer = io.BytesIO()
    image.save(buffer, "PDF")
    return buffer.getvalue()


def build(workdir):
    os.environ["PORTAL_DOTENV"] = "none"
    from portal import create_app
    from portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/shots.db", "SECRET_KEY": "s" * 40,
                      "MEDIA_LOCAL_ROOT": f"{workdir}/media", "HTMX_CDN": False,
                      # four passes through the sign-in and "forgot password" forms, faster than people would
                      "LOGIN_RATE_LIMIT": "1000 per minute", "PASSWORD_RESET_RATE_LIMIT": "1000 per minute",
                      "PASSWORD_RESET_ACCOUNT_RATE_LIMIT": "1000 per minute"}, profile="development")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        data = file_requests(app, Path(workdir))
        db.session.remove()
    return app, data


def _no_pages_pdf():
    out = io.BytesIO()
    pikepdf.new().save(out)
    return out.getvalue()


def file_requests(app, workdir):
    """The demo data plus requests in every state; the namespace site_pages' visits read."""
    from types import SimpleNamespace

    from portal import api_tokens, cancellations
    from portal.accounts import links, people
    from portal.demo import seed_demo
    from portal.media import orchestrator
    from portal.media.orchestrator import Upload
    from portal.media.validation import ValidationError
    from portal.models import User

    seed_demo()
    media = orchestrator()
    user = {email: User.query.filter_by(email=f"{email}@utro.example").one()
            for email in ("anna", "boris", "vera", "owner", "manager")}
    filed = {}
    for who, reason, files in [
        ("anna", "Заболела, температура 38. Справка из поликлиники во вложении.",
         [("справка.jpg", sick_note_jpeg()), ("больничный.pdf", a_pdf())]),
        ("boris", "Ребёнок заболел, нужно остаться дома.", [("записка.jpg", sick_note_jpeg())]),
        ("vera", "Сдаю экзамен в университете.", [("расписание.jpg", sick_note_jpeg())]),
        ("anna", "Вызвали в военкомат.", [("повестка.pdf", _no_pages_pdf())]),
    ]:
        shift = cancellations.cancellable_shifts(user[who])[0]
        try:
            validated = [media.check(Upload(io.BytesIO(data), name)) for name, data in files]
            filed.setdefault(who, cancellations.request_cancellation(shift, reason, validated, actor=user[who]))
        except ValidationError:
            pass  # the refused file stays on Anna's card with its message, the error state
    cancellations.decide(filed["vera"], True, "Выздоравливайте", actor=user["manager"])
    invited = people.invite(name="Дарья Новикова", email="darya@utro.example", role="employee", language="ru",
                            actor=user["owner"])
    api_tokens.issue(user["owner"].id, "Основное приложение смен", actor=user["owner"])
    from portal.extensions import db

    db.session.commit()
    anna = filed["anna"]
    photo, csv = workdir / "note.jpg", workdir / "week.csv"
    photo.write_bytes(sick_note_jpeg())
    csv.write_text("email;date;start;end;place\nanna@utro.example;02.03.2026;09:00;17:00;Бар\n"
                   "nobody@utro.example;31.02.2026;25:00;17:00;Зал\n", encoding="utf-8")
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024  # the 413 page then needs only a small body to show
    return SimpleNamespace(
        people={"employee": user["anna"], "manager": user["manager"], "owner": user["owner"]},
        shift=anna.shift_id, cancellation=anna.id, proof=next(m.id for m in anna.proofs if m.status == "ready"),
        shift_free=cancellations.cancellable_shifts(user["boris"])[0].id,
        colleague=user["boris"].id,
        invitation=links.make_token(invited, "invitation"), reset=links.make_token(user["boris"], "reset"),
        photo=str(photo), csv=str(csv), max_bytes=app.config["MAX_CONTENT_LENGTH"])


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("#email", user.email)
    page.fill("#password", "demo-pass-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def save(page, path):
    """A viewport screenshot, quantised to 256 colours: UI pictures stay sharp at a fraction of the bytes."""
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)


def shots():
    """(visit, role, file stem) of every screenshot."""
    from tests.e2e.site_pages import VISITS

    for visit in VISITS:
        roles = visit.roles if visit.name in PER_ROLE else visit.roles[:1]
        for role in roles:
            yield visit, role, visit.name + (f"-{role}" if len(roles) > 1 else "")


def shoot(base, data):
    from playwright.sync_api import sync_playwright

    from portal.extensions import db

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for language in ("ru", "en"):
            for person in data.people.values():
                person.language = language
            db.session.commit()
            for viewport, size in VIEWPORTS.items():
                pages = {}
                for visit, role, stem in shots():
                    if role not in pages:
                        context = browser.new_context(viewport=size, locale=f"{language}-{language.upper()}")
                        context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())
                        pages[role] = context.new_page()
                        if role in data.people:
                            sign_in(pages[role], base, data.people[role])
                    page = pages[role]
                    try:
                        visit.open(page, base, data)
                    except Exception:
                        print(f"could not open {visit.name} as {role} ({language}, {viewport}); at {page.url}")
                        raise
                    page.wait_for_load_state("networkidle")
                    save(page, OUT / f"{stem}-{viewport}-{language}.png")
                for page in pages.values():
                    page.context.close()
        browser.close()


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as workdir:
        app, data = build(workdir)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with app.app_context():
                from portal.extensions import db

                for person in data.people.values():
                    db.session.add(person)
                shoot(f"http://127.0.0.1:{server.server_port}", data)
        finally:
            server.shutdown()
    files = sorted(OUT.glob("*.png"))
    size = sum(f.stat().st_size for f in files) // 1024
    print(f"saved {len(files)} screenshots in {OUT.relative_to(ROOT)}, {size} KB")


if __name__ == "__main__":
    main()
