"""The standards pages on the staff desk: included by wuye/desk/urls.py under standards/."""

from django.urls import path

from . import views

app_name = "standards"
urlpatterns = [
    path("profiles/", views.profile_overview, name="profiles"),
    path("profiles/<int:profile_id>/edit/", views.profile_edit, name="profile_edit"),
    path("estates/<int:estate_id>/profile/", views.profile_assign, name="profile_assign"),
    path("sop/", views.sop_library, name="sop"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("tasks/", views.task_mine, name="tasks"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/act/<slug:action>/", views.task_act, name="task_act"),
    path("tasks/<int:task_id>/photos/<int:photo_id>", views.task_photo, name="task_photo"),
]
