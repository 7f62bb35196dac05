from django.urls import include, path

from . import views, views_dispatch, views_orders

app_name = "desk"
urlpatterns = [
    path("", views.home, name="home"),
    path("estates/<int:estate_id>/", views.estate_detail, name="estate"),
    path("estates/<int:estate_id>/import/", views.ledger_import, name="ledger_import"),
    path("notifications/", include("wuye.notifications.desk_urls")),
    path("standards/", include("wuye.standards.desk_urls")),
    path("", include("wuye.inspections.desk_urls")),
    path("surveys/", include("wuye.engagement.desk_urls")),
    path("kpis/", include("wuye.kpis.desk_urls")),
    path("appraisal/", include("wuye.staff.desk_urls")),
    path("alarms/", include("wuye.iot.desk_urls")),
    path("equipment/", include("wuye.equipment.desk_urls")),
    path("orders/", views_orders.order_queue, name="order_queue"),
    path("orders/mine/", views_orders.order_mine, name="order_mine"),
    path("orders/overdue/", views_orders.order_overdue, name="order_overdue"),
    path("orders/visits/", views_orders.order_visits, name="order_visits"),
    path("orders/new/", views_orders.order_new, name="order_new"),
    path("orders/new/rooms/", views_orders.order_new_rooms, name="order_new_rooms"),
    path("orders/new/room/", views_orders.order_new_room, name="order_new_room"),
    path("orders/<int:order_id>/", views_orders.order_detail, name="order_detail"),
    path("orders/<int:order_id>/act/<slug:action>/", views_orders.order_act, name="order_act"),
    path("orders/<int:order_id>/photos/<int:photo_id>", views_orders.order_photo, name="order_photo"),
    path("dispatch/", views_dispatch.dispatch_board, name="dispatch_board"),
    path("dispatch/<int:order_id>/", views_dispatch.dispatch_board_assign, name="dispatch_assign"),
    path("pool/", views_dispatch.grab_pool, name="grab_pool"),
    path("pool/<int:order_id>/grab/", views_dispatch.grab, name="grab"),
]
