from __future__ import annotations

import re

from django.core import mail

from apps.core.tenancy import tenant_scope
from apps.tenants.models import Invitation, Membership
from tests.tenants.factories import audits, make_user


def members_url(tenant):
    return f"/console/t/{tenant.slug}/members/"


def invite(client, tenant, email="new@example.org", role="admin"):
    return client.post(members_url(tenant), {"email": email, "role": role})


def link_from_mail() -> str:
    return re.search(r"https?://\S+/console/invitations/\S+/", mail.outbox[-1].body).group(0)


def test_invite_then_join_once(client, tenant_a, owner_a, django_capture_on_commit_callbacks):
    client.force_login(owner_a)
    with django_capture_on_commit_callbacks(execute=True):
        assert invite(client, tenant_a).status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.org"]
    link = link_from_mail()
    path = link.split("://", 1)[1].split("/", 1)[1]
    token = path.rstrip("/").rsplit("/", 1)[-1]
    with tenant_scope(tenant_a):
        stored = Invitation.objects.get()
    assert token not in stored.token_hash  # only the keyed hash is stored
    newcomer = make_user("newcomer")
    client.force_login(newcomer)
    assert client.get(f"/{path}").status_code == 200
    assert client.post(f"/{path}").status_code == 302
    with tenant_scope(tenant_a):
        assert Membership.objects.get(user=newcomer).role == "admin"
    assert client.get(f"/console/t/{tenant_a.slug}/").status_code == 200
    # Single use.
    other = make_user("other")
    client.force_login(other)
    assert client.post(f"/{path}").status_code == 404
    assert audits(action="member.invited")
    assert len(audits(action="member.joined")) == 1


def test_expired_invitation_refused(client, tenant_a, owner_a, django_capture_on_commit_callbacks):
    client.force_login(owner_a)
    with django_capture_on_commit_callbacks(execute=True):
        invite(client, tenant_a)
    from datetime import timedelta

    from django.utils import timezone

    with tenant_scope(tenant_a):
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    path = "/" + link_from_mail().split("://", 1)[1].split("/", 1)[1]
    client.force_login(make_user("late"))
    assert client.post(path).status_code == 404
    assert client.get("/console/invitations/not-a-real-token/").status_code == 404


def test_anonymous_accept_goes_to_sign_in(client, tenant_a, owner_a, django_capture_on_commit_callbacks):
    client.force_login(owner_a)
    with django_capture_on_commit_callbacks(execute=True):
        invite(client, tenant_a)
    client.logout()
    path = "/" + link_from_mail().split("://", 1)[1].split("/", 1)[1]
    response = client.post(path)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_admin_cannot_invite_owner_error_in_place(client, tenant_a):
    admin_user = make_user("admin-a")
    with tenant_scope(tenant_a):
        Membership.objects.create(tenant=tenant_a, user=admin_user, role="admin")
    client.force_login(admin_user)
    response = invite(client, tenant_a, role="owner")
    assert response.status_code == 200 and response.context["form"].errors["role"]
    with tenant_scope(tenant_a):
        assert not Invitation.objects.exists()


def test_revoke(client, tenant_a, owner_a):
    client.force_login(owner_a)
    invite(client, tenant_a)
    with tenant_scope(tenant_a):
        pk = Invitation.objects.get().pk
    assert client.post(f"/console/t/{tenant_a.slug}/invitations/{pk}/revoke/").status_code == 302
    with tenant_scope(tenant_a):
        assert Invitation.objects.get().revoked_at is not None


def test_viewer_sees_members_but_cannot_invite_or_revoke(client, tenant_a, owner_a, viewer_a):
    client.force_login(owner_a)
    invite(client, tenant_a)
    with tenant_scope(tenant_a):
        pk = Invitation.objects.get().pk
    client.force_login(viewer_a)
    assert client.get(members_url(tenant_a)).status_code == 200
    assert invite(client, tenant_a, email="x@example.org").status_code == 403
    assert client.post(f"/console/t/{tenant_a.slug}/invitations/{pk}/revoke/").status_code == 403
    with tenant_scope(tenant_a):
        assert Invitation.objects.count() == 1 and Invitation.objects.get().revoked_at is None


def test_outsider_gets_404(client, tenant_a, owner_a, outsider):
    client.force_login(owner_a)
    invite(client, tenant_a)
    with tenant_scope(tenant_a):
        pk = Invitation.objects.get().pk
    client.force_login(outsider)
    assert client.get(members_url(tenant_a)).status_code == 404
    assert invite(client, tenant_a).status_code == 404
    assert client.post(f"/console/t/{tenant_a.slug}/invitations/{pk}/revoke/").status_code == 404
    # Nor through their own tenant's URL.
    assert client.post(f"/console/t/beta/invitations/{pk}/revoke/").status_code == 404
