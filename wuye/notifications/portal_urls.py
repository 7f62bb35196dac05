"""The inbox in the owner portal: included by wuye/portal/urls.py under notifications/."""

from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, {"inbox": views.PORTAL}, name="list"),
    path("read-all/", views.notification_read_all, {"inbox": views.PORTAL}, name="read_all"),
    path("<int:notification_id>/", views.notification_open, {"inbox": views.PORTAL}, name="open"),
]
