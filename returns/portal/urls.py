from django.contrib.auth import views as auth_views
from django.urls import path

from returns.portal import gifts, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="portal/login.html", redirect_authenticated_user=True),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language, name="set_language"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:order_id>/return/", views.return_start, name="return_start"),
    path("returns/", views.return_list, name="returns"),
    path("returns/<str:rma>/", views.return_detail, name="return"),
    path("returns/<str:rma>/confirmation/", views.return_confirmation, name="confirmation"),
    path("returns/<str:rma>/label.pdf", views.return_label, name="label"),
    path("returns/<str:rma>/drop-off-code.svg", views.return_drop_off_code, name="drop_off_code"),
    path("returns/<str:rma>/shipment/", views.return_shipment, name="shipment"),
    path("returns/<str:rma>/cancel/", views.return_cancel, name="cancel"),
    path("gift/", gifts.gift_start, name="gift_start"),
    path("gift/items/", gifts.gift_items, name="gift_items"),
    path("gift/status/<str:token>/", gifts.gift_status, name="gift_status"),
    path("gift/status/<str:token>/label.pdf", gifts.gift_label, name="gift_label"),
]
