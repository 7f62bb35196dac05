from django.urls import include, path

from wuye.workorders.choices import Action

from . import views, views_orders

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("notifications/", include("wuye.notifications.portal_urls")),
    path("surveys/", include("wuye.engagement.portal_urls")),
    path("stars/", include("wuye.staff.portal_urls")),
    path("orders/", views_orders.order_list, name="order_list"),
    path("orders/new/", views_orders.order_new, name="order_new"),
    path("orders/<int:order_id>/", views_orders.order_detail, name="order_detail"),
    path("orders/<int:order_id>/urge/", views_orders.order_act, {"action": Action.URGE}, name="order_urge"),
    path("orders/<int:order_id>/cancel/", views_orders.order_act, {"action": Action.CANCEL}, name="order_cancel"),
    path("orders/<int:order_id>/rate/", views_orders.order_act, {"action": Action.RATE}, name="order_rate"),
    path("orders/<int:order_id>/reopen/", views_orders.order_act, {"action": Action.REOPEN}, name="order_reopen"),
    path("orders/<int:order_id>/photos/<int:photo_id>", views_orders.order_photo, name="order_photo"),
]
