"""The inbox on the staff desk: included by wuye/desk/urls.py under notifications/."""

from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, {"inbox": views.DESK}, name="list"),
    path("read-all/", views.notification_read_all, {"inbox": views.DESK}, name="read_all"),
    path("<int:notification_id>/", views.notification_open, {"inbox": views.DESK}, name="open"),
]
