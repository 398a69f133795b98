"""In Chromium: an employee downloads their data as a ZIP from their own page, and sees who opened their proof."""
import hashlib
import json
import zipfile

from portal.extensions import db
from portal.media import storage

from .test_login_flow import sign_in


def test_employee_downloads_their_zip_and_sees_the_owners_download(page, live_server, proofs, tmp_path):
    a = proofs.a
    sign_in(page, live_server, a.owner)
    page.wait_for_selector("text=Today")
    page.request.get(f"{live_server}/media/{a.proof.id}/download", max_redirects=0)
    page.context.clear_cookies()
    sign_in(page, live_server, a.emp1)
    page.wait_for_selector("text=My upcoming shifts")
    page.click("nav >> text=My data")
    page.wait_for_selector("#access-report")
    assert page.locator("#access-report tbody tr[data-action='media.download']").count() == 1
    assert "Owner of Alpha" in page.inner_text("#access-report")
    with page.expect_download() as download:
        page.click("#export-form button")
    path = tmp_path / "export.zip"
    download.value.save_as(path)
    assert download.value.suggested_filename.startswith(f"personal-data-{a.emp1.id}-")
    with zipfile.ZipFile(path) as archive:
        index = json.loads(archive.read("index.json"))
        [listed] = [f for r in index["requests"] for f in r["files"]]
        data = archive.read(listed["path"])
    db.session.refresh(a.proof)
    with storage().open(a.proof.storage_key) as body:
        assert hashlib.sha256(data).hexdigest() == listed["sha256"] == hashlib.sha256(body.read()).hexdigest()
