from django.urls import path, re_path

from frontend import views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("projects/", views.projects, name="projects"),
    path("projects/<int:project_id>/label/", views.label, name="label"),
    re_path(r"^invite/(?P<token>[A-Za-z0-9_-]{1,100})/?$", views.invite, name="invite"),
]
