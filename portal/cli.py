"""Command-line tools: flask seed-demo, flask business create, flask mail send-pending (flask media: media/cli.py)."""
import click
from flask import current_app

from .accounts.cli import business_group
from .demo import DEMO_PASSWORD, seed_demo
from .mail.cli import mail_group


def init_app(app):
    """Register the project's commands on the app's CLI."""
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(business_group)
    app.cli.add_command(mail_group)


@click.command("seed-demo")
def seed_demo_command():
    """Create two demo businesses with users and two weeks of shifts (safe to run again); never in production."""
    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException("seed-demo refuses to run in production: its users share one published password")
    summary, created = seed_demo()
    click.echo(f"Demo data ready ({created} new shifts). Every demo user's password: {DEMO_PASSWORD}")
    for business, users in summary:
        click.echo(f"\n{business}")
        for user in users:
            click.echo(f"  {user.role:<9} {user.email:<28} {user.display_name}")
