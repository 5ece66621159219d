from django.urls import path

from apps.console.views import connections, members, onboarding, tenant

app_name = "console"

urlpatterns = [
    path("", onboarding.dashboard, name="dashboard"),
    path("signup/", onboarding.signup, name="signup"),
    path("tenants/new/", onboarding.create_tenant, name="create_tenant"),
    path("invitations/<str:token>/", onboarding.invitation, name="invitation"),
    path("t/<slug:tenant_slug>/", tenant.tenant_home, name="tenant"),
    path("t/<slug:tenant_slug>/connections/new/", connections.connection_new, name="connection_new"),
    path("t/<slug:tenant_slug>/connections/<int:pk>/", connections.connection_detail, name="connection"),
    path("t/<slug:tenant_slug>/connections/<int:pk>/edit/", connections.connection_edit, name="connection_edit"),
    path("t/<slug:tenant_slug>/connections/<int:pk>/test/", connections.connection_test, name="connection_test"),
    path("t/<slug:tenant_slug>/members/", members.members, name="members"),
    path("t/<slug:tenant_slug>/members/<int:pk>/role/", members.change_role, name="member_role"),
    path("t/<slug:tenant_slug>/members/<int:pk>/remove/", members.remove_member, name="member_remove"),
    path("t/<slug:tenant_slug>/invitations/<int:pk>/revoke/", members.revoke_invitation, name="revoke_invitation"),
]
