"""The corpus's own oracle: what active content a parsed PDF really holds, found by walking its object graph.

This is test code that proves corpus files are what they claim; it is deliberately small and independent of
portal/media, so a bug in the portal's check cannot hide a bug in the corpus.
"""
import pikepdf
from pikepdf import Name

ACTION_KINDS = {"/JavaScript": "script", "/Launch": "launch", "/GoToR": "remote_goto", "/GoToE": "remote_goto",
                "/ImportData": "import_data", "/SubmitForm": "submit_form", "/RichMediaExecute": "richmedia"}
# mailto: is in every browser's and office suite's print of a page with an e-mail address (benign corpus).
SAFE_SCHEMES = ("http", "https", "mailto")


def uri_is_safe(uri):
    """True for a URI an employee's viewer may follow: http, https or mailto, however the scheme is written."""
    scheme, colon, _ = uri.strip().partition(":")
    return bool(colon) and scheme.strip().lower() in SAFE_SCHEMES and "\\" not in scheme


def _is_plain_goto(action):
    """An action (or bare destination) that only moves inside this document."""
    if isinstance(action, pikepdf.Array):
        return True  # a destination array: [page /Fit]
    if not isinstance(action, pikepdf.Dictionary):
        return False
    return action.get("/S") == Name.GoTo and "/Next" not in action and "/JS" not in action


def _kinds_of_dictionary(node, found):
    subtype, action = node.get("/Subtype"), node.get("/S")
    if "/JS" in node:
        found.add("script")
    if action is not None and str(action) in ACTION_KINDS:
        found.add(ACTION_KINDS[str(action)])
    if action == Name.URI and not uri_is_safe(str(node.get("/URI", ""))):
        found.add("uri")
    if subtype == Name.RichMedia or "/RichMediaContent" in node:
        found.add("richmedia")
    if "/XFA" in node:
        found.add("xfa")
    if "/EF" in node or "/EmbeddedFiles" in node or subtype == Name.FileAttachment:
        found.add("embedded_file")
    if "/JavaScript" in node and isinstance(node.get("/JavaScript"), pikepdf.Dictionary):
        found.add("script")  # the document-level JavaScript name tree
    if "/OpenAction" in node and not _is_plain_goto(node.OpenAction):
        found.add("open_action")
    if isinstance(node.get("/AA"), pikepdf.Dictionary) and not all(_is_plain_goto(v) for v in node.AA.values()):
        found.add("open_action")


def active_kinds(pdf):
    """Every kind of active content reachable from the trailer (the /Encrypt dictionary aside)."""
    found, seen = set(), set()
    pending = [value for key, value in pdf.trailer.items() if key != "/Encrypt"]
    while pending:
        node = pending.pop()
        if not isinstance(node, pikepdf.Object):
            continue  # numbers and booleans come back as Python values
        if node.is_indirect:
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
        if isinstance(node, pikepdf.Stream):
            node = node.stream_dict
        if isinstance(node, pikepdf.Dictionary):
            _kinds_of_dictionary(node, found)
            pending.extend(node.values())
        elif isinstance(node, pikepdf.Array):
            pending.extend(node)
    return found
