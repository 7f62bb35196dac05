"""Appraisal pages on the staff desk: included by wuye/desk/urls.py under appraisal/."""

from django.urls import path

from . import views

app_name = "appraisal"
urlpatterns = [
    path("", views.ranking_page, name="ranking"),
    path("mine/", views.my_appraisal, name="mine"),
    path("scores/<int:score_id>/", views.breakdown_page, name="breakdown"),
    path("people/<int:estate_id>/<int:person_id>/", views.person_page, name="person"),
    path("stars/", views.star_list_page, name="stars"),
    path("stars/<int:star_id>/confirm/", views.star_decide_page, {"decision": "confirm"}, name="star_confirm"),
    path("stars/<int:star_id>/reject/", views.star_decide_page, {"decision": "reject"}, name="star_reject"),
]
