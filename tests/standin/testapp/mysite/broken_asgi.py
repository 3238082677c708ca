"""Exists but fails at import, like the recorded bad-module-raises case."""

import this_package_does_not_exist_xyz  # noqa
