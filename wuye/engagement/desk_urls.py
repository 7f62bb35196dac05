"""Surveys on the staff desk: included by wuye/desk/urls.py under surveys/."""

from django.urls import path

from . import views
from .choices import SurveyAction

app_name = "surveys"
urlpatterns = [
    path("", views.desk_survey_list, name="list"),
    path("new/", views.desk_survey_new, name="new"),
    path("satisfaction/", views.desk_satisfaction, name="satisfaction"),
    path("follow-ups/", views.desk_follow_ups, name="follow_ups"),
    path("follow-ups/<int:follow_up_id>/done/", views.desk_follow_up_done, name="follow_up_done"),
    path("<int:survey_id>/", views.desk_survey_results, name="results"),
    path("<int:survey_id>/export.xlsx", views.desk_survey_export, name="export"),
    path("<int:survey_id>/publish/", views.desk_survey_act, {"action": SurveyAction.PUBLISH}, name="publish"),
    path("<int:survey_id>/close/", views.desk_survey_act, {"action": SurveyAction.CLOSE}, name="close"),
]
