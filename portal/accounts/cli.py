"""flask business create: a new business and its owner, who gets a one-time link to choose a password."""
import click

from ..i18n import LANGUAGES
from ..links import BaseURLMissingError
from . import links, people


@click.group("business")
def business_group():
    """Businesses on this portal."""


@business_group.command("create")
@click.option("--name", required=True, help="The business's name, as staff see it.")
@click.option("--timezone", "timezone_name", required=True, help="IANA name, e.g. Europe/Moscow.")
@click.option("--owner-email", required=True, help="The owner's sign-in email.")
@click.option("--owner-name", default=None, help="The owner's name (default: the email's first part).")
@click.option("--language", type=click.Choice(LANGUAGES), default="ru", show_default=True,
              help="The owner's language.")
def create_command(name, timezone_name, owner_email, owner_name, language):
    """Create a business and print the owner's one-time set-password link (no password is printed or mailed)."""
    try:
        owner, link = people.create_business(name=name, timezone=timezone_name, owner_email=owner_email,
                                             language=language, owner_name=owner_name)
    except people.InvalidEmailError as error:
        raise click.BadParameter(str(error), param_hint="--owner-email") from None
    except people.EmailTakenError as error:
        raise click.BadParameter(str(error), param_hint="--owner-email") from None
    except people.UnknownTimezoneError as error:
        raise click.BadParameter(str(error), param_hint="--timezone") from None
    except (people.PeopleError, BaseURLMissingError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Business “{owner.business_name}” created; owner {owner.email} ({owner.timezone}).")
    click.echo(f"Send the owner this one-time link to choose a password (it works for "
               f"{links.lifetime('invitation').days} days):")
    click.echo(link)
