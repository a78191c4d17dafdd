"""Writes of the crm app."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import User


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    """Remember the user's interface language; an empty value goes back to following the browser."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(
            _("%(language)s is not a language of this site.") % {"language": language},
            code="invalid_language",
        )
    if user.preferred_language != language:
        user.preferred_language = language
        user.save(update_fields=["preferred_language"])
    return user
