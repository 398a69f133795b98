"""Save the README's screenshots under docs/screenshots/ (make screenshots).

Builds a throwaway app (SQLite and local storage in a temporary folder), seeds the demo businesses, files
two cancellation requests with proofs, serves it on a loopback port and drives Debian's Chromium."""
import io
import os
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

from PIL import Image, ImageDraw
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


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
                      "MEDIA_LOCAL_ROOT": f"{workdir}/media", "HTMX_CDN": False}, profile="development")
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        file_requests(app)
        db.session.remove()
    return app


def file_requests(app):
    from portal import cancellations
    from portal.demo import seed_demo
    from portal.media import orchestrator
    from portal.media.orchestrator import Upload
    from portal.models import User

    seed_demo()
    media = orchestrator()
    for email, reason, files in [
        ("anna@utro.example", "Заболела, температура 38. Справка из поликлиники во вложении.",
         [("справка.jpg", sick_note_jpeg()), ("больничный.pdf", a_pdf())]),
        ("boris@utro.example", "Ребёнок заболел, нужно остаться дома.", [("записка.jpg", sick_note_jpeg())]),
    ]:
        employee = User.query.filter_by(email=email).one()
        shift = cancellations.cancellable_shifts(employee)[0]
        validated = [media.check(Upload(io.BytesIO(data), name)) for name, data in files]
        cancellations.request_cancellation(shift, reason, validated, actor=employee)


def sign_in(page, base, email):
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", "demo-pass-2026")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def shoot(base):
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, locale="ru-RU")
        page = phone.new_page()
        sign_in(page, base, "vera@utro.example")
        page.goto(f"{base}/cancellations/")
        page.screenshot(path=OUT / "employee-form-phone.png", full_page=True)
        desktop = browser.new_context(viewport={"width": 1440, "height": 900}, locale="ru-RU")
        page = desktop.new_page()
        sign_in(page, base, "owner@utro.example")
        page.goto(f"{base}/shifts/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=OUT / "owner-week-desktop.png", full_page=False)
        page.goto(f"{base}/cancellations/")
        page.wait_for_load_state("networkidle")
        page.locator("article.cancellation").last.screenshot(path=OUT / "shift-card-proofs.png")
        browser.close()


def main():
    with tempfile.TemporaryDirectory() as workdir:
        app = build(workdir)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            shoot(f"http://127.0.0.1:{server.server_port}")
        finally:
            server.shutdown()
    for path in sorted(OUT.glob("*.png")):
        print(f"saved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
