from django.urls import path

from . import views

app_name = "desk"
urlpatterns = [
    path("", views.home, name="home"),
    path("estates/<int:estate_id>/", views.estate_detail, name="estate"),
    path("estates/<int:estate_id>/import/", views.ledger_import, name="ledger_import"),
]
