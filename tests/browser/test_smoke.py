import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_login_page_renders(live_server, page, screenshot):
    page.goto(f"{live_server.url}/admin/login/")
    assert page.locator("input[name=username]").is_visible()
    assert screenshot("login").stat().st_size > 1000
