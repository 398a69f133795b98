"""htmx fragments: render one block or macro of a page, and one status policy for forms with errors."""
from flask import current_app, get_template_attribute, request

# One status policy for htmx: a form with errors answers 422 and static/js/portal.js lets htmx swap it.
FORM_ERROR = 422


def is_htmx():
    """True for a request htmx made for a part of a page (not a history restore, which needs the whole page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


def render_block(template_name, block_name, **context):
    """Render one named block of a page template, for an htmx request that replaces that part of the page."""
    app = current_app
    template = app.jinja_env.get_template(template_name)
    app.update_template_context(context)
    return "".join(template.blocks[block_name](template.new_context(context)))


def render_macro(template_name, macro_name, *args, **kwargs):
    """Render one macro (a card, a list) on its own."""
    return get_template_attribute(template_name, macro_name)(*args, **kwargs)
