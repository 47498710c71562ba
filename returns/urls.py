from django.urls import path

from returns import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
