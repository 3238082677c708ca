"""A model the demo app does not have: the release that adds it brings a migration."""

from django.db import models


class RoomVisit(models.Model):
    id = models.BigAutoField(primary_key=True)
    room = models.CharField(max_length=100)
    visited_at = models.DateTimeField(auto_now_add=True)
