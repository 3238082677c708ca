from django.shortcuts import redirect, render

from .forms import RoomForm


def index(request):
    if request.method == "POST":
        form = RoomForm(request.POST)
        if form.is_valid():
            return redirect("rooms:room", room_name=form.cleaned_data["room_name"])
        return render(request, "rooms/index.html", {"form": form}, status=400)
    return render(request, "rooms/index.html", {"form": RoomForm()})


def room(request, room_name):
    return render(request, "rooms/room.html", {"room_name": room_name})
