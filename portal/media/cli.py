"""`flask media ...`: set up and inspect the proof store."""
import click
from flask.cli import AppGroup

from .storage import StorageError

media_cli = AppGroup("media", help="Set up and inspect the proof file store.")


@media_cli.command("init")
def init_command():
    """Create the bucket if missing; turn on versioning, public access block, encryption and lifecycle rules."""
    from flask import current_app

    from . import storage

    provider = current_app.config["MEDIA_STORAGE_PROVIDER"]
    click.echo(f"Setting up {provider} storage, bucket {current_app.config['MEDIA_STORAGE_BUCKET']}:")
    try:
        lines = storage().setup(current_app.config)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from exc
    for step, outcome in lines:
        click.echo(f"  {step:<22} {outcome}")
