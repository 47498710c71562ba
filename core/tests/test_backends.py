"""A user's permissions, theirs and their groups', are what Django's ModelBackend finds, read in one query."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import Group, Permission

from core.backends import ModelBackend

pytestmark = pytest.mark.django_db


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)  # no permission cached yet


@pytest.fixture
def agent():
    user = get_user_model().objects.create_user("perm-agent", password="x" * 12)
    group = Group.objects.create(name="perm-reviewers")
    group.permissions.add(Permission.objects.get(codename="review_returnrequest"))
    user.groups.add(group)
    user.user_permissions.add(Permission.objects.get(codename="view_refund"))
    return user


def test_own_and_group_permissions_in_one_query(agent, django_assert_num_queries):
    user = fresh(agent)
    with django_assert_num_queries(1):
        granted = ModelBackend().get_all_permissions(user)
        assert user.has_perm("returns.review_returnrequest") and user.has_perm("refunds.view_refund")
    assert granted == DjangoModelBackend().get_all_permissions(fresh(agent))
    assert {"returns.review_returnrequest", "refunds.view_refund"} <= granted
    assert not user.has_perm("returns.approve_any_amount")


def test_an_inactive_user_holds_none(agent):
    agent.is_active = False
    agent.save()
    assert ModelBackend().get_all_permissions(fresh(agent)) == set()
    assert not fresh(agent).has_perm("returns.review_returnrequest")


def test_a_superuser_holds_every_permission():
    admin = get_user_model().objects.create_superuser("perm-admin", password="x" * 12)
    assert ModelBackend().get_all_permissions(fresh(admin)) == DjangoModelBackend().get_all_permissions(fresh(admin))
