"""URL configuration for chatsite. There is deliberately nothing at "/"."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("rooms/", include("rooms.urls")),
    path("admin/", admin.site.urls),
]
