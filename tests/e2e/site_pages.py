"""Every page of the portal as a browser reaches it, for the accessibility pass and `make screenshots`.

A Visit opens one page (or one state of it: errors shown, the lightbox open) for the roles that see it.
`data` carries what the pages need: .shift (a shift with a pending request and proofs), .proof (a photo
of it), .invitation and .reset (set-password tokens), .photo and .csv (files on disk) and .max_bytes
(the largest request body the app reads), .colleague (an employee the owner may erase)."""
from dataclasses import dataclass
from typing import Callable

TEAM = ("owner", "manager")
SIGNED_IN = ("owner", "manager", "employee")
ELSEWHERE = "http://elsewhere.example"  # a site other than the portal, answered by the browser's router


@dataclass(frozen=True)
class Visit:
    name: str
    endpoint: str | None  # None: an error page no route serves
    method: str
    roles: tuple
    open: Callable  # open(page, base, data)


def _go(path):
    return lambda page, base, data: page.goto(base + path.format(d=data))


def _submit(path, fill=None, files=None, button="button[type=submit]", wait=".field-error, [aria-invalid=true]"):
    """Open path, fill fields and choose files, submit, and wait until the answer shows."""
    def open_(page, base, data):
        page.goto(base + path.format(d=data))
        page.wait_for_load_state("load")
        for selector, value in (fill or {}).items():
            page.fill(selector, value.format(d=data))
        for selector, attribute in (files or {}).items():
            page.set_input_files(selector, getattr(data, attribute))
        page.click(button)
        page.wait_for_selector(wait).scroll_into_view_if_needed()  # the answer in view, for the screenshot
    return open_


def _lightbox(page, base, data):
    page.goto(base + "/")
    page.wait_for_load_state("load")
    page.click(f"#proofs-{data.cancellation} a[data-lightbox]")
    page.wait_for_selector("#lightbox[open]")
    for _ in range(100):  # polled with evaluate: wait_for_function evals in the page, which the CSP forbids
        if page.evaluate("document.querySelector('#lightbox [data-lightbox-image]').naturalWidth > 0"):
            break
        page.wait_for_timeout(100)


def _too_large(page, base, data):
    """The real 413 answer to an oversized upload, shown in the browser: the page's navigation is answered
    with what the server says to an over-limit POST (the browser's own check would never send one)."""
    def oversized(route):
        route.fulfill(response=route.fetch(url=f"{base}/cancellations/", method="POST",
                                           headers={"Content-Type": "application/octet-stream"},
                                           post_data=b"\0" * (data.max_bytes + 1)))
    page.route(f"{base}/cancellations/?too-large", oversized)
    page.goto(f"{base}/cancellations/?too-large")


def _from_elsewhere(page, base, data):
    """A download link followed from another site gets the confirm page, not the file."""
    page.route(f"{ELSEWHERE}/", lambda route: route.fulfill(
        content_type="text/html", body=f'<a href="{base}/media/{data.proof}/download">proof</a>'))
    page.goto(f"{ELSEWHERE}/")
    page.click("a")
    page.wait_for_url(f"{base}/media/**")


VISITS = [
    Visit("sign-in", "auth.login", "GET", ("anonymous",), _go("/login")),
    Visit("sign-in-error", "auth.login", "POST", ("anonymous",),
          _submit("/login", {"#email": "nobody@example.com", "#password": "wrong-password"})),
    Visit("forgot-password", "auth.forgot_password", "GET", ("anonymous",), _go("/forgot-password")),
    Visit("forgot-password-sent", "auth.login", "GET", ("anonymous",),
          _submit("/forgot-password", {"#email": "nobody@example.com"}, wait=".flash")),
    Visit("set-password", "auth.set_password", "GET", ("anonymous",), _go("/invitation/{d.invitation}")),
    Visit("set-password-error", "auth.set_password", "POST", ("anonymous",),
          _submit("/reset-password/{d.reset}", {"#new_password": "short", "#confirm": "other"})),
    Visit("link-problem", "auth.set_password", "GET", ("anonymous",), _go("/invitation/not-a-real-link")),
    Visit("not-found", None, "GET", ("anonymous", "employee"), _go("/no-such-page")),
    Visit("home", "home.index", "GET", SIGNED_IN, _go("/")),
    Visit("lightbox", "home.index", "GET", TEAM, _lightbox),
    Visit("cancellations", "cancellations.index", "GET", SIGNED_IN, _go("/cancellations/")),
    Visit("cancellation-errors", "cancellations.create", "POST", ("employee",),
          _submit("/cancellations/", files={"#proofs": "photo"}, button="#cancel-submit")),
    Visit("too-large", "cancellations.create", "POST", ("employee",), _too_large),
    Visit("week", "shifts.week", "GET", TEAM, _go("/shifts/")),
    Visit("forbidden", "shifts.week", "GET", ("employee",), _go("/shifts/")),
    Visit("shift", "shifts.show", "GET", SIGNED_IN, _go("/shifts/{d.shift}")),
    Visit("shift-new", "schedule.create", "GET", TEAM, _go("/shifts/new")),
    Visit("shift-new-errors", "schedule.create", "POST", TEAM,
          _submit("/shifts/new", button="#shift-form button.primary")),
    Visit("shift-edit", "schedule.edit", "GET", TEAM, _go("/shifts/{d.shift_free}/edit")),
    Visit("shift-edit-errors", "schedule.edit", "POST", TEAM,
          _submit("/shifts/{d.shift_free}/edit", {"#start": ""}, button="#shift-form button.primary")),
    Visit("csv-import", "schedule.import_csv", "GET", TEAM, _go("/shifts/import")),
    Visit("csv-import-preview", "schedule.import_csv", "POST", TEAM,
          _submit("/shifts/import", files={"#file": "csv"}, button="button[value=preview]", wait="#import-preview")),
    Visit("audit", "audit.index", "GET", TEAM, _go("/audit/")),
    Visit("storage", "storage.index", "GET", ("owner",), _go("/storage/")),
    Visit("staff", "staff.index", "GET", TEAM, _go("/staff/")),
    Visit("staff-invite-errors", "staff.invite", "POST", TEAM,
          _submit("/staff/", button="#invite-form button[type=submit]")),
    Visit("api-tokens", "api_tokens.index", "GET", ("owner",), _go("/settings/api-tokens/")),
    Visit("api-token-created", "api_tokens.create", "POST", ("owner",),
          _submit("/settings/api-tokens/", {"#name": "Shift app"}, button="form[action$='/api-tokens/'] button",
                  wait="#new-token")),
    Visit("account", "account.index", "GET", SIGNED_IN, _go("/account/")),
    Visit("profile-errors", "account.profile", "POST", ("employee",),
          _submit("/account/", {"#profile-name": ""}, button="#profile-form button[type=submit]")),
    Visit("password-errors", "account.password", "POST", SIGNED_IN,
          _submit("/account/", {"#current-password": "not-it", "#new-password": "another-long-password"},
                  button="#password-form button[type=submit]")),
    Visit("media-confirm", "media.download", "GET", SIGNED_IN, _from_elsewhere),
    Visit("data-protection", "retention.index", "GET", ("owner",), _go("/settings/data/")),
    Visit("data-protection-errors", "retention.save_months", "POST", ("owner",),
          _submit("/settings/data/", {"#months": "0"}, button="#retention button[type=submit]")),
    Visit("erase-confirm", "retention.confirm_erase", "GET", ("owner",), _go("/settings/data/erase/{d.colleague}")),
    Visit("erase-errors", "retention.erase", "POST", ("owner",),
          _submit("/settings/data/erase/{d.colleague}", button="button.danger")),
    Visit("my-data", "my_data.index", "GET", ("employee",), _go("/my-data/")),
]

# Routes with no page of their own to check, and why.
NOT_PAGES = {
    ("static", "GET"): "files",
    ("local_media.serve", "GET"): "proof files of the local store",
    ("health.healthz", "GET"): "plain text",
    ("metrics.metrics", "GET"): "plain text",
    ("audit.export", "GET"): "CSV",
    ("api.shift_media", "GET"): "JSON",
    ("media.thumbnail", "GET"): "a redirect to the image (shown on every card)",
    ("media.view", "GET"): "a redirect to the file, or the confirm page checked through media.download",
    ("cancellations.card", "GET"): "the htmx fragment of one card, checked inside /cancellations/",
    ("direct_uploads.slot", "POST"): "JSON for the browser's direct upload",
    ("local_media.upload", "POST"): "the local store's upload endpoint (204 or 403, no page)",
    ("exports.person", "POST"): "a ZIP file",
    ("retention.report_json", "GET"): "JSON",
    ("retention.report_csv", "GET"): "CSV",
}
REDIRECTS = {  # POSTs that answer 303 to a page checked above (or an error page checked above)
    "auth.forgot_password", "auth.logout", "language.switch", "cancellations.decide", "cancellations.add_proofs",
    "cancellations.remove_proof", "cancellations.withdraw", "account.end_other_sessions", "schedule.delete",
    "schedule.copy_week", "schedule.reassign", "staff.deactivate", "staff.reactivate", "staff.resend",
    "staff.change_role", "api_tokens.revoke", "retention.hold", "retention.release",
}
NOT_PAGES.update({(endpoint, "POST"): "answers 303 to a page checked here" for endpoint in REDIRECTS})


def unchecked_routes(url_map):
    """Routes (endpoint, method) that neither a Visit opens nor NOT_PAGES explains."""
    visited = {(visit.endpoint, visit.method) for visit in VISITS}
    routes = {(rule.endpoint, method) for rule in url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}
              if not rule.endpoint.startswith("api_v1.")}  # the token API answers JSON only
    return sorted(routes - visited - set(NOT_PAGES)), sorted(set(NOT_PAGES) - routes)
