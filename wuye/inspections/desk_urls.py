"""Patrol and inspection pages on the staff desk: included by wuye/desk/urls.py at the desk's root, so the guard's
page is /desk/patrol/ and inspections live under /desk/inspections/."""

from django.urls import path

from . import views

app_name = "inspections"
urlpatterns = [
    path("patrol/", views.patrol_home, name="patrol"),
    path("patrol/rounds/<int:round_id>/", views.round_detail, name="round"),
    path("patrol/rounds/<int:round_id>/scan/", views.round_scan, name="round_scan"),
    path("patrol/rounds/<int:round_id>/incident/", views.round_incident, name="round_incident"),
    path("patrol/routes/", views.route_list, name="routes"),
    path("patrol/routes/new/", views.route_new, name="route_new"),
    path("patrol/routes/<int:route_id>/", views.route_detail, name="route"),
    path("patrol/routes/<int:route_id>/edit/", views.route_edit, name="route_edit"),
    path("patrol/routes/<int:route_id>/stops/add/", views.route_stop_add, name="route_stop_add"),
    path("patrol/routes/<int:route_id>/stops/<int:stop_id>/remove/", views.route_stop_remove, name="route_stop_remove"),
    path("patrol/routes/<int:route_id>/stops/<int:stop_id>/move/", views.route_stop_move, name="route_stop_move"),
    path("patrol/routes/<int:route_id>/labels.pdf", views.route_labels_pdf, name="route_labels_pdf"),
    path("patrol/routes/<int:route_id>/labels/", views.route_labels, name="route_labels"),
    path("patrol/routes/<int:route_id>/labels.png", views.route_labels_png, name="route_labels_png"),
    path("patrol/checkpoints/<int:checkpoint_id>/edit/", views.checkpoint_edit, name="checkpoint_edit"),
    path("patrol/checkpoints/<int:checkpoint_id>/retire/", views.checkpoint_retire, name="checkpoint_retire"),
    path("inspections/", views.inspection_list, name="inspections"),
    path("inspections/new/", views.inspection_new, name="inspection_new"),
    path("inspections/<int:inspection_id>/", views.inspection_detail, name="inspection"),
    path("inspections/<int:inspection_id>/submit/", views.inspection_submit, name="inspection_submit"),
    path("inspections/<int:inspection_id>/cancel/", views.inspection_cancel, name="inspection_cancel"),
    path("inspections/<int:inspection_id>/photos/<int:photo_id>", views.inspection_photo, name="inspection_photo"),
    path("inspections/quality/", views.quality, name="quality"),
    path("inspections/quality/sample/", views.quality_sample, name="quality_sample"),
    path("inspections/achieved/<int:estate_id>/", views.achieved, name="achieved"),
    path("inspections/achieved/<int:estate_id>/export.xlsx", views.achieved_export, name="achieved_export"),
]
