"""The returns back-office: the review queue and a return's page (review), the unmatched-parcels
queue (parcels), reference data (reference), gift receipts (gifts) and the dashboard (dashboard, charts)."""

from returns.admin import gifts, parcels, reference, review  # noqa: F401 - importing registers the admin classes
