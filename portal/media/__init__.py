"""Proof files: validation, preparation, storage providers and the orchestrator that ties them together."""
from flask import current_app

from .links import LinkCache
from .orchestrator import MediaOrchestrator
from .storage import build_storage


def init_app(app):
    """Build the storage provider once and keep it in app.extensions; register `flask media`."""
    from .cli import media_cli

    app.extensions["media_storage"] = build_storage(app.config)
    queue = app.extensions.get("queue")  # the queue's Redis, when there is one, shares thumbnail links too
    app.extensions["media_links"] = LinkCache(queue.connection if queue is not None else None)
    app.cli.add_command(media_cli)


def storage():
    """The app's storage provider."""
    return current_app.extensions["media_storage"]


def orchestrator():
    """A MediaOrchestrator bound to the app's storage and settings."""
    return MediaOrchestrator(storage(), current_app.config, current_app.extensions["media_links"])
