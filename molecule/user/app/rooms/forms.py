from django import forms
from django.core.validators import RegexValidator


class RoomForm(forms.Form):
    # Same rule as the WebSocket route (\w+), ASCII only.
    room_name = forms.CharField(
        max_length=100,
        validators=[RegexValidator(r"^[A-Za-z0-9_]+\Z", "Use letters, digits and _ only.")],
        widget=forms.TextInput(attrs={"id": "room-name-input", "autofocus": True}),
    )
