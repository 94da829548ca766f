from django.urls import re_path

from tessera.api import views

urlpatterns = [
    re_path(r"^current-user/whoami/?$", views.WhoAmIView.as_view(), name="whoami"),
    re_path(r"^organizations/?$", views.OrganizationListView.as_view(), name="organization-list"),
    re_path(r"^organizations/switch/?$", views.OrganizationSwitchView.as_view(), name="organization-switch"),
]
