"""服务之星 in the owner portal: included by wuye/portal/urls.py under stars/."""

from django.urls import path

from . import views

app_name = "stars"
urlpatterns = [path("", views.portal_stars, name="list")]
