from django.urls import path, re_path

from frontend import views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("preferences/", views.preferences, name="preferences"),
    path("projects/", views.projects, name="projects"),
    path("projects/new/", views.app_page, {"page": "new-project"}, name="new-project"),
    path("members/", views.app_page, {"page": "members"}, name="members"),
    path("account/", views.app_page, {"page": "account"}, name="account"),
    path("projects/<int:project_id>/", views.project_home, name="project"),
    path("projects/<int:project_id>/label/", views.label, name="label"),
    path("projects/<int:project_id>/<slug:tab>/", views.project_tab, name="project-tab"),
    re_path(r"^invite/(?P<token>[A-Za-z0-9_-]{1,100})/?$", views.invite, name="invite"),
]
