from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core import views as ops
from returns.admin.dashboard import dashboard_view

urlpatterns = [
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_router")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("metrics", ops.metrics, name="prometheus-django-metrics"),
    path("readyz", ops.readyz, name="readyz"),
    path("", include("returns.portal.urls")),
    path("", include("returns.urls")),
]
