"""The bench-only URLconf: the product's routes and a bare endpoint to compare with."""

from django.urls import path

from benchmarks.views import BareReturnCreate
from config.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/bare-returns", BareReturnCreate.as_view(), name="bench-bare-returns"),
    *product_urlpatterns,
]
