"""Equipment pages on the staff desk: included by wuye/desk/urls.py under equipment/."""

from django.urls import path

from . import views

app_name = "equipment"
urlpatterns = [
    path("", views.equipment_list, name="list"),
    path("labels/", views.label_sheet, name="labels"),
    path("labels.png", views.label_sheet_png, name="labels_png"),
    path("labels.pdf", views.label_sheet_pdf, name="labels_pdf"),
    path("l/<str:label_code>/", views.equipment_scan, name="scan"),
    path("<int:equipment_id>/", views.equipment_detail, name="detail"),
    path("<int:equipment_id>/documents/<int:document_id>", views.equipment_document, name="document"),
    path("<int:equipment_id>/plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:plan_id>/", views.plan_edit, name="plan_edit"),
]
