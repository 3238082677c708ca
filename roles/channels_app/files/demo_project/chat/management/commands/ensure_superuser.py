"""Create or update the admin superuser from the environment, idempotently.

    DJANGO_SUPERUSER_USERNAME=admin DJANGO_SUPERUSER_PASSWORD=... \
        python manage.py ensure_superuser

Reads the same variables as `createsuperuser --noinput`
(DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_PASSWORD, DJANGO_SUPERUSER_EMAIL),
and DJANGO_SUPERUSER_PASSWORD_FILE as an alternative to the password variable.
Unlike createsuperuser it can run on every deployment: the last line printed is
exactly one of "created", "updated" or "unchanged" (for Ansible's changed_when).
"""

import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


class Command(BaseCommand):
    help = "Create or update a superuser from DJANGO_SUPERUSER_* environment variables."

    def handle(self, *args, **options):
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "").strip()
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "").strip()
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        password_file = os.environ.get("DJANGO_SUPERUSER_PASSWORD_FILE", "").strip()
        if password_file:
            if password:
                raise CommandError(
                    "Set only one of DJANGO_SUPERUSER_PASSWORD and DJANGO_SUPERUSER_PASSWORD_FILE."
                )
            try:
                password = Path(password_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CommandError(
                    f"DJANGO_SUPERUSER_PASSWORD_FILE={password_file!r} cannot be read: "
                    f"{exc.strerror or exc}."
                ) from exc
        if not username or not password:
            raise CommandError(
                "DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD "
                "(or DJANGO_SUPERUSER_PASSWORD_FILE) must be set."
            )

        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
            if user is None:
                User.objects.create_superuser(username, email or "", password)
                outcome = "created"
            else:
                changed = []
                if not user.check_password(password):
                    user.set_password(password)
                    changed.append("password")
                if email and user.email != email:
                    user.email = email
                    changed.append("email")
                for flag in ("is_staff", "is_superuser", "is_active"):
                    if not getattr(user, flag):
                        setattr(user, flag, True)
                        changed.append(flag)
                if changed:
                    user.save()
                outcome = "updated" if changed else "unchanged"
        self.stdout.write(outcome)
