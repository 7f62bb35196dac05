"""KPI pages on the staff desk: included by wuye/desk/urls.py under kpis/."""

from django.urls import path

from . import views

app_name = "kpis"
urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("export.xlsx", views.export_excel, name="export_xlsx"),
    path("export.pdf", views.export_pdf, name="export_pdf"),
]
