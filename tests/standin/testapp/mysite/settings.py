"""Placeholder: the recorded configs set DJANGO_SETTINGS_MODULE=mysite.settings."""
DEBUG = False
