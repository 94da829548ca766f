from django.urls import re_path

from tessera.api import members, views

urlpatterns = [
    re_path(r"^current-user/whoami/?$", views.WhoAmIView.as_view(), name="whoami"),
    re_path(r"^current-user/token/?$", views.CurrentUserTokenView.as_view(), name="current-user-token"),
    re_path(
        r"^current-user/reset-token/?$",
        views.CurrentUserResetTokenView.as_view(),
        name="current-user-reset-token",
    ),
    re_path(r"^tokens/?$", views.TokenListView.as_view(), name="token-list"),
    re_path(r"^tokens/(?P<token_id>[0-9]{1,18})/?$", views.TokenDetailView.as_view(), name="token-detail"),
    re_path(r"^organizations/?$", views.OrganizationListView.as_view(), name="organization-list"),
    re_path(r"^organizations/switch/?$", views.OrganizationSwitchView.as_view(), name="organization-switch"),
    re_path(
        r"^organizations/(?P<organization_id>[0-9]{1,18})/memberships/?$",
        members.MembershipListView.as_view(),
        name="membership-list",
    ),
    re_path(
        r"^organizations/(?P<organization_id>[0-9]{1,18})/memberships/(?P<user_id>[0-9]{1,18})/?$",
        members.MembershipDetailView.as_view(),
        name="membership-detail",
    ),
    re_path(
        r"^organizations/(?P<organization_id>[0-9]{1,18})/invites/?$",
        members.InvitationListView.as_view(),
        name="invitation-list",
    ),
    re_path(
        r"^organizations/(?P<organization_id>[0-9]{1,18})/invites/(?P<invitation_id>[0-9]{1,18})/?$",
        members.InvitationDetailView.as_view(),
        name="invitation-detail",
    ),
]
