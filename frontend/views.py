"""Pages of the browser app: sign-in and sign-out (Django sessions), and the shells that load the built app.

The app itself talks to the REST API with the session cookie and the CSRF token from the page.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from annotation import selectors
from frontend.forms import EmailAuthenticationForm
from tessera.errors import NotFound
from tessera.models import User
from tessera.request_types import AuthenticatedHttpRequest
from tessera.selectors import auth_keys, client_address, membership_for, printable
from tessera.services import (
    auth_attempt_release,
    auth_attempt_reserve,
    auth_failure_record,
    auth_throttled_record,
)


class SignInView(auth_views.LoginView):
    """Django's sign-in, throttled per account and per client address.

    The attempt is counted, and the throttle asked, before the form checks the password: a password
    check is a PBKDF2 run of tenths of a second, so without it a burst of guesses would hold every web
    worker. A correct password takes its count back.
    """

    template_name = "frontend/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True
    # Set by post() for form_valid and form_invalid, which Django calls without the request.
    account: str
    address: str

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.account = printable(str(request.POST.get("username", "")).strip().lower(), limit=254)
        self.address = client_address(request)
        wait = auth_attempt_reserve(account=self.account, address=self.address)
        if wait is not None:
            auth_throttled_record(via="login", account=self.account, address=self.address, retry_after=wait)
            response = render(
                request,
                self.template_name,
                {"form": self.get_form_class()(request), "throttled": True, "next": self.get_redirect_url()},
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        auth_attempt_release(account=self.account, address=self.address)
        return super().form_valid(form)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        auth_failure_record(
            keys=auth_keys(account=self.account, address=self.address),
            via="login",
            account=self.account,
            address=self.address,
            user=User.objects.filter(email__iexact=self.account).first() if self.account else None,
            count=False,
        )
        return super().form_invalid(form)


class SignOutView(auth_views.LogoutView):
    next_page = "frontend:login"


def _app_page(request: AuthenticatedHttpRequest, *, page: str, project_id: int | None = None) -> HttpResponse:
    settings_for_app = {
        "page": page,
        "project": project_id,
        "user": {"id": request.user.pk, "email": request.user.email},
        "imageOrigins": list(settings.TESSERA_IMAGE_ALLOWED_ORIGINS),
    }
    return render(request, "frontend/app.html", {"page": page, "app_settings": settings_for_app})


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("frontend:projects")


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and tools ask for /favicon.ico whatever the pages link: send them to the SVG icon that
    the built frontend ships (frontend/public/favicon.svg), so they get an icon and not a 404."""
    return redirect(static("favicon.svg"), permanent=True)


@require_GET
@login_required
@ensure_csrf_cookie
def projects(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _app_page(request, page="projects")


@require_GET
@login_required
@ensure_csrf_cookie
def label(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    # Scoped as the API scopes it: a project of another organization (or of none the caller belongs
    # to) does not exist for this caller, so the page says so instead of loading an app that can only
    # fail. The answer is the same for a missing project, so ids of other organizations leak nothing.
    membership = membership_for(user=request.user)
    try:
        if membership is None:
            raise NotFound("Project not found.")
        selectors.project_get(membership=membership, project_id=project_id)
    except NotFound:
        return render(request, "frontend/project_not_found.html", {"project_id": project_id}, status=404)
    return _app_page(request, page="label", project_id=project_id)
