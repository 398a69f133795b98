"""File specifications that open another file: a Thread action with /F (ISO 32000-1 12.6.4.6 opens the file
to follow the article), and any file specification whose name is a URL, a UNC path or another absolute path.
Each is refused like GoToR, with the message about a link that opens another file."""
import io

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String

from portal.media import pdf
from portal.media.validation import ValidationError, validate

def url_spec():
    return Dictionary(Type=Name.Filespec, FS=Name.URL, F=String("https://attacker.example/x.pdf"))


def unc_spec():
    return Dictionary(Type=Name.Filespec, F=String("\\\\attacker.example\\share\\x.pdf"))


def _with(add):
    document = pikepdf.new()
    document.add_blank_page(page_size=(612, 792))
    add(document, document.pages[0].obj)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _link(action):
    """A link annotation running the action that action() builds."""
    def add(document, page):
        page.Annots = Array([document.make_indirect(Dictionary(
            Type=Name.Annot, Subtype=Name.Link, Rect=Array([0, 0, 300, 300]), A=document.make_indirect(action())))])
    return add


def _filespec_on_catalog(spec):
    """The file specification spec() builds, alone, where a viewer may find it (the catalog's associated files)."""
    def add(document, page):
        document.Root.AF = Array([document.make_indirect(spec())])
    return add


REFUSED = {
    "thread into a URL": _link(lambda: Dictionary(S=Name.Thread, F=url_spec(), D=0)),
    "thread into a UNC path": _link(lambda: Dictionary(S=Name.Thread, F=unc_spec(), D=0)),
    "thread into a relative file name": _link(lambda: Dictionary(S=Name.Thread, F=String("other.pdf"), D=0)),
    "thread on the page's additional actions": lambda d, page: setattr(page, "AA", Dictionary(
        O=Dictionary(S=Name.Thread, F=String("other.pdf"), D=0))),
    "URL file specification": _filespec_on_catalog(url_spec),
    "UNC file specification": _filespec_on_catalog(unc_spec),
    "file: URL in /UF": _filespec_on_catalog(lambda: Dictionary(Type=Name.Filespec, F=String("a.pdf"),
                                                         UF=String("file:///C:/Users/Public/a.pdf"))),
    "forward-slash UNC path without /Type": _filespec_on_catalog(lambda: Dictionary(
        F=String("//attacker.example/share/a.pdf"), UF=String("a.pdf"))),
    "smb URL padded with spaces": _filespec_on_catalog(lambda: Dictionary(Type=Name.Filespec,
                                                                  F=String(" \tsmb://attacker.example/a.pdf"))),
}


ACCEPTED = {
    "thread to an article of this document": _link(lambda: Dictionary(S=Name.Thread, D=0)),
    "a file specification naming a file alone": _filespec_on_catalog(lambda: Dictionary(
        Type=Name.Filespec, F=String("scan.pdf"), UF=String("scan.pdf"))),
}


def _code(data):
    try:
        validate(data, "note.pdf", max_bytes=10 * 1024 * 1024, max_pixels=50_000_000)
    except ValidationError as refused:
        return refused.code
    return "stored"


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_file_specification_that_opens_another_file_is_refused(case):
    data = _with(REFUSED[case])
    assert _code(data) in ("pdf_other_file", "pdf_auto_action")  # an automatic one says that first
    assert "other_file" in {f.kind for f in pdf.findings(pikepdf.open(io.BytesIO(data)))}
    # what stays allowed: a thread inside the document, a file named alone; a form posting to a URL keeps the
    # form's message
    assert {name: _code(_with(add)) for name, add in ACCEPTED.items()} == dict.fromkeys(ACCEPTED, "stored")
    assert _code(_with(_link(lambda: Dictionary(S=Name.SubmitForm, F=url_spec())))) == "pdf_form_data"


@pytest.mark.parametrize("base", ["file:///C:/", "\\\\attacker.example\\share\\", "smb://attacker.example/",
                                  "java\tscript:"], ids=["file", "unc", "smb", "javascript"])
def test_a_link_base_outside_the_web_is_refused_like_such_a_link(base):
    """The catalog's /URI /Base is what a viewer may resolve every link of the document against: a link the policy
    lets through (http:evil.exe) must not become file:///C:/evil.exe."""
    def add(document, page):
        document.Root.URI = Dictionary(Base=String(base))
        _link(lambda: Dictionary(S=Name.URI, URI=String("http:evil.exe")))(document, page)

    def web_base(document, page):
        document.Root.URI = Dictionary(Base=String("https://example.org/docs/"))

    assert _code(_with(add)) == "pdf_uri"
    assert _code(_with(web_base)) == "stored"
