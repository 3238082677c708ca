"""A migration that fails (the multihost scenario's bad input): PostgreSQL rolls it back."""

from django.db import migrations


def fail(apps, schema_editor):
    raise RuntimeError("this migration fails on purpose")


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]
    operations = [migrations.RunPython(fail, migrations.RunPython.noop)]
