"""URL configuration of the chat project."""

from django.contrib import admin
from django.urls import include, path

from chat import views as chat_views

urlpatterns = [
    # The tutorial's room index, also at the site root.
    path("", chat_views.index, name="home"),
    path("chat/", include("chat.urls")),
    path("healthz/", chat_views.healthz, name="healthz"),
    path("client/", chat_views.client, name="client"),
    path("admin/", admin.site.urls),
]
