"""Surveys in the owner portal: included by wuye/portal/urls.py under surveys/."""

from django.urls import path

from . import views

app_name = "surveys"
urlpatterns = [
    path("", views.portal_survey_list, name="list"),
    path("<int:survey_id>/", views.portal_survey_answer, name="answer"),
]
