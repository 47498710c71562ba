"""English dates as the portal has always written them (22 November 2026), not Django's US default
(Nov. 22, 2026); German and French use Django's own formats (22. November 2026, 22 novembre 2026)."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
