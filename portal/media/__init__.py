"""Proof files: validation, preparation, storage providers and the orchestrator that ties them together."""
from flask import current_app

from .orchestrator import MediaOrchestrator
from .storage import build_storage


def init_app(app):
    """Build the storage provider once and keep it in app.extensions; register `flask media`."""
    from .cli import media_cli

    app.extensions["media_storage"] = build_storage(app.config)
    app.cli.add_command(media_cli)


def storage():
    """The app's storage provider."""
    return current_app.extensions["media_storage"]


def orchestrator():
    """A MediaOrchestrator bound to the app's storage and settings."""
    return MediaOrchestrator(storage(), current_app.config)
