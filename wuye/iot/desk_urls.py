"""The alarms console on the staff desk, included by wuye/desk/urls.py under /desk/alarms/."""

from django.urls import path

from . import views

app_name = "alarms"
urlpatterns = [
    path("", views.alarm_console, name="console"),
    path("<int:alarm_id>/", views.alarm_detail, name="detail"),
    path("<int:alarm_id>/<slug:action>/", views.alarm_act, name="act"),
]
