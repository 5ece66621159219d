"""Hospital IT changes roles and removes members (offboarding); the last owner stays; outsiders get 404."""

from __future__ import annotations

import pytest

from apps.core.tenancy import tenant_scope
from apps.tenants.models import Membership
from tests.tenants.factories import audit_one, audits, make_member

pytestmark = pytest.mark.django_db


def membership_of(tenant, user) -> Membership | None:
    with tenant_scope(tenant):
        return Membership.objects.filter(user=user).first()


def role_url(tenant, member: Membership) -> str:
    return f"/console/t/{tenant.slug}/members/{member.pk}/role/"


def remove_url(tenant, member: Membership) -> str:
    return f"/console/t/{tenant.slug}/members/{member.pk}/remove/"


def test_owner_changes_a_role_and_it_is_audited(client, tenant_a, owner_a):
    admin = make_member(tenant_a, "admin-a", "admin")
    client.force_login(owner_a)
    response = client.post(role_url(tenant_a, membership_of(tenant_a, admin)), {"role": "viewer"}, follow=True)
    assert response.status_code == 200
    assert membership_of(tenant_a, admin).role == "viewer"
    event = audit_one(action="member.role_changed")
    assert event.detail == {"from": "admin", "to": "viewer"} and event.actor_id == owner_a.pk


def test_owner_removes_a_member_who_then_loses_access(client, tenant_a, owner_a):
    leaver = make_member(tenant_a, "leaver", "admin")
    client.force_login(owner_a)
    assert client.post(remove_url(tenant_a, membership_of(tenant_a, leaver))).status_code == 302
    assert membership_of(tenant_a, leaver) is None
    assert audit_one(action="member.removed").detail == {"role": "admin"}
    client.force_login(leaver)
    assert client.get(f"/console/t/{tenant_a.slug}/").status_code == 404


def test_the_last_owner_can_be_neither_demoted_nor_removed(client, tenant_a, owner_a):
    client.force_login(owner_a)
    mine = membership_of(tenant_a, owner_a)
    page = client.post(role_url(tenant_a, mine), {"role": "admin"}, follow=True).content.decode()
    assert "at least one owner" in page
    client.post(remove_url(tenant_a, mine))
    assert membership_of(tenant_a, owner_a).role == "owner"
    assert audits(action="member.role_changed") == [] and audits(action="member.removed") == []


def test_a_second_owner_may_leave(client, tenant_a, owner_a):
    other_owner = make_member(tenant_a, "owner-two", "owner")
    client.force_login(other_owner)
    response = client.post(remove_url(tenant_a, membership_of(tenant_a, other_owner)))
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert membership_of(tenant_a, other_owner) is None
    assert membership_of(tenant_a, owner_a).role == "owner"


def test_an_admin_cannot_touch_owners_or_make_one(client, tenant_a, owner_a):
    admin = make_member(tenant_a, "admin-a", "admin")
    viewer = make_member(tenant_a, "viewer-x", "viewer")
    client.force_login(admin)
    page = client.post(role_url(tenant_a, membership_of(tenant_a, viewer)), {"role": "owner"}, follow=True)
    assert "Only an owner" in page.content.decode()
    client.post(remove_url(tenant_a, membership_of(tenant_a, owner_a)))
    client.post(role_url(tenant_a, membership_of(tenant_a, owner_a)), {"role": "viewer"})
    assert membership_of(tenant_a, viewer).role == "viewer"
    assert membership_of(tenant_a, owner_a).role == "owner"


def test_an_invalid_role_changes_nothing(client, tenant_a, owner_a):
    admin = make_member(tenant_a, "admin-a", "admin")
    client.force_login(owner_a)
    client.post(role_url(tenant_a, membership_of(tenant_a, admin)), {"role": "superuser"})
    assert membership_of(tenant_a, admin).role == "admin"


def test_a_viewer_cannot_change_or_remove(client, tenant_a, owner_a, viewer_a):
    client.force_login(viewer_a)
    target = membership_of(tenant_a, owner_a)
    assert client.post(role_url(tenant_a, target), {"role": "viewer"}).status_code == 403
    assert client.post(remove_url(tenant_a, target)).status_code == 403
    assert membership_of(tenant_a, owner_a).role == "owner"


def test_outsiders_and_other_tenants_members_get_404(client, tenant_a, tenant_b, owner_a, outsider):
    target = membership_of(tenant_a, owner_a)
    client.force_login(outsider)
    assert client.post(role_url(tenant_a, target), {"role": "viewer"}).status_code == 404
    assert client.post(remove_url(tenant_a, target)).status_code == 404
    # An owner of tenant A naming a member of tenant B through A's URLs finds nobody.
    foreign = membership_of(tenant_b, outsider)
    client.force_login(owner_a)
    assert client.post(role_url(tenant_a, foreign), {"role": "viewer"}).status_code == 404
    assert client.post(remove_url(tenant_a, foreign)).status_code == 404
    assert membership_of(tenant_b, outsider).role == "owner"
    assert membership_of(tenant_a, owner_a).role == "owner"
