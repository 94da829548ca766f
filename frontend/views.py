"""Pages of the browser app: sign-in and sign-out (Django sessions), and the shells that load the built app.

The app itself talks to the REST API with the session cookie and the CSRF token from the page.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation import selectors
from frontend.forms import EmailAuthenticationForm, PreferencesForm
from tessera.errors import ApplicationError, NotFound
from tessera.invitations import InvitationClosed, invitation_accept_existing, invitation_accept_new_user
from tessera.models import ROLE_RANK, Membership, Role, User
from tessera.request_types import AuthenticatedHttpRequest
from tessera.selectors import (
    auth_keys,
    client_address,
    invitation_by_token,
    invitation_state,
    membership_for,
    printable,
)
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


# The manager's pages of a project (issue 8), each a tab of the project, and the minimum role that
# sees it. The app (frontend/src/router.ts) renders them; this table decides which URLs exist, so an
# unknown tab is the styled 404 page and a tab above the caller's role is the styled 403 page.
PROJECT_TABS: dict[str, Role] = {
    "data": Role.REVIEWER,
    "review": Role.REVIEWER,
    "dashboard": Role.REVIEWER,
    # Pre-labelers (issue 10): adding, testing and running them is a manager's work.
    "models": Role.MANAGER,
    "import": Role.MANAGER,
    "settings": Role.MANAGER,
    "members": Role.REVIEWER,
    "export": Role.REVIEWER,
    # Dataset versions (issue 11): reviewers read and download them; building and deleting are for
    # managers, which the API enforces and the page reflects.
    "datasets": Role.REVIEWER,
    # Training runs and the model registry (issue 12): reviewers follow runs and read models; launching,
    # cancelling and promoting are for managers, which the API enforces and the page reflects.
    "training": Role.REVIEWER,
}
# Pages outside a project: the minimum role of the active organization.
APP_PAGES: dict[str, Role] = {
    "projects": Role.ANNOTATOR,
    "new-project": Role.MANAGER,
    "members": Role.MANAGER,
    "account": Role.ANNOTATOR,
}


def _app_page(
    request: AuthenticatedHttpRequest, *, page: str, project_id: int | None = None, tab: str | None = None
) -> HttpResponse:
    membership = membership_for(user=request.user)
    settings_for_app = {
        "page": page,
        "project": project_id,
        "tab": tab,
        "user": {"id": request.user.pk, "email": request.user.email},
        "role": membership.role if membership else None,
        "organization": (
            {"id": membership.organization_id, "title": membership.organization.title} if membership else None
        ),
        "imageOrigins": list(settings.TESSERA_IMAGE_ALLOWED_ORIGINS),
        # The import page checks files against these before it uploads them.
        "importLimits": {
            "maxUploadBytes": settings.TESSERA_MAX_UPLOAD_BYTES,
            "syncImportMaxBytes": settings.TESSERA_SYNC_IMPORT_MAX_BYTES,
            "maxTasksPerImport": settings.TESSERA_MAX_TASKS_PER_IMPORT,
        },
    }
    return render(
        request,
        "frontend/app.html",
        {"page": page, "app_settings": settings_for_app, **_chrome(request, membership)},
    )


def _chrome(request: HttpRequest, membership: Membership | None) -> dict[str, Any]:
    """What the top bar of every signed-in page shows: the caller's role and preferences."""
    rank = membership.rank if membership else 0
    user = request.user
    return {
        "membership": membership,
        # The switcher asks the API for the organizations only when there is a choice to make.
        "organization_count": Membership.objects.filter(user=user, is_active=True).count()
        if user.is_authenticated
        else 0,
        "can_manage": rank >= ROLE_RANK[Role.MANAGER],
        "languages": settings.LANGUAGES,
        "themes": [("", _("System")), ("light", _("Light")), ("dark", _("Dark"))],
    }


def _refused(request: HttpRequest, *, status: int, title: str, message: str) -> HttpResponse:
    membership = membership_for(user=request.user) if request.user.is_authenticated else None
    context = {"title": title, "message": message, **_chrome(request, membership)}
    return render(request, "frontend/error_page.html", context, status=status)


def not_found_page(request: HttpRequest) -> HttpResponse:
    return _refused(
        request,
        status=404,
        title=_("Page not found"),
        message=_("There is no page at this address. It may have moved, or the link may be mistyped."),
    )


def _project_not_found(request: HttpRequest, project_id: int) -> HttpResponse:
    return _refused(
        request,
        status=404,
        title=_("Project not found"),
        message=_(
            "There is no project #%(id)s in your organization. It may have been deleted, or it belongs to an "
            "organization you are not a member of (or not switched to)."
        )
        % {"id": project_id},
    )


def _role_too_low(request: HttpRequest, minimum: Role = Role.MANAGER) -> HttpResponse:
    message = (
        _(
            "This page is for reviewers and project managers. Ask a manager of your organization if you need it."
        )
        if minimum == Role.REVIEWER
        else _("This page is for project managers. Ask a manager of your organization if you need it.")
    )
    return _refused(request, status=403, title=_("Not available to your role"), message=message)


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
def app_page(request: AuthenticatedHttpRequest, page: str) -> HttpResponse:
    membership = membership_for(user=request.user)
    if (membership.rank if membership else 0) < ROLE_RANK[APP_PAGES[page]]:
        return _role_too_low(request)
    return _app_page(request, page=page)


def _scoped_project(request: AuthenticatedHttpRequest, project_id: int) -> Membership | None:
    # Scoped as the API scopes it: a project of another organization (or of none the caller belongs
    # to) does not exist for this caller, so the page says so instead of loading an app that can only
    # fail. The answer is the same for a missing project, so ids of other organizations leak nothing.
    membership = membership_for(user=request.user)
    try:
        if membership is None:
            raise NotFound("Project not found.")
        selectors.project_get(membership=membership, project_id=project_id)
    except NotFound:
        return None
    return membership


@require_GET
@login_required
@ensure_csrf_cookie
def label(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    if _scoped_project(request, project_id) is None:
        return _project_not_found(request, project_id)
    return _app_page(request, page="label", project_id=project_id)


@require_GET
@login_required
def project_home(request: AuthenticatedHttpRequest, project_id: int) -> HttpResponse:
    membership = _scoped_project(request, project_id)
    if membership is None:
        return _project_not_found(request, project_id)
    tab = "data" if membership.rank >= ROLE_RANK[PROJECT_TABS["data"]] else "label"
    return redirect(f"/projects/{project_id}/{tab}/")


@require_GET
@login_required
@ensure_csrf_cookie
def project_tab(request: AuthenticatedHttpRequest, project_id: int, tab: str) -> HttpResponse:
    if tab not in PROJECT_TABS:
        return not_found_page(request)
    membership = _scoped_project(request, project_id)
    if membership is None:
        return _project_not_found(request, project_id)
    if membership.rank < ROLE_RANK[PROJECT_TABS[tab]]:
        return _role_too_low(request, PROJECT_TABS[tab])
    return _app_page(request, page="project", project_id=project_id, tab=tab)


@login_required
@require_POST
def preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The user menu's language and theme: kept on the user, so they follow them to every browser."""
    form = PreferencesForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "/projects/"
    if not form.is_valid():
        return redirect(back)
    changed = [name for name in ("language", "theme") if name in request.POST]
    for name in changed:
        setattr(request.user, name, form.cleaned_data[name])
    if changed:
        request.user.save(update_fields=changed)
    response = redirect(back)
    if "language" in changed:
        if request.user.language:
            translation.activate(request.user.language)
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                request.user.language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite="Lax",
            )
        else:
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response


def _invite_closed(request: HttpRequest, state: str) -> HttpResponse:
    """Unknown links answer 404; used, revoked and expired ones 410. Nothing is created."""
    return render(
        request, "frontend/invite_closed.html", {"state": state}, status=404 if state == "unknown" else 410
    )


@require_http_methods(["GET", "POST"])
@ensure_csrf_cookie
def invite(request: HttpRequest, token: str) -> HttpResponse:
    """Accept an invitation: a new address makes its account here, an existing account signs in first.

    The state is read again under the invitation's row lock when the form is sent (tessera.invitations),
    so a link used meanwhile creates nothing.
    """
    invitation = invitation_by_token(token=token)
    if invitation is None:
        return _invite_closed(request, "unknown")
    state = invitation_state(invitation)
    if state != "pending":
        return _invite_closed(request, state)
    existing = User.objects.filter(email__iexact=invitation.email).first()
    signed_in = request.user if request.user.is_authenticated else None
    if existing is None:
        mode = "new"
    elif signed_in is None:
        mode = "sign_in"
    elif signed_in.pk == existing.pk:
        mode = "join"
    else:
        mode = "wrong_account"
    context: dict[str, Any] = {
        "mode": mode,
        "organization": invitation.organization.title,
        "role": invitation.get_role_display(),
        "email": invitation.email,
        "errors": {},
        "values": {},
    }
    status = 200
    if request.method == "POST" and mode in ("new", "join"):
        try:
            if mode == "new":
                values = {name: str(request.POST.get(name, "")) for name in ("first_name", "last_name")}
                context["values"] = values
                password = str(request.POST.get("password", ""))
                if password != request.POST.get("password2", ""):
                    raise ApplicationError(_("The two passwords differ."), field="password2")
                user = invitation_accept_new_user(token=token, password=password, **values)
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                assert signed_in is not None  # mode "join" means the invited account is signed in
                invitation_accept_existing(token=token, user=signed_in)
        except InvitationClosed as exc:
            return _invite_closed(request, exc.code)
        except NotFound:
            return _invite_closed(request, "unknown")
        except ApplicationError as exc:
            context["errors"] = {exc.field or "form": exc.message}
            status = exc.status
        else:
            return redirect("frontend:projects")
    elif request.method == "POST":
        status = 403
    return render(request, "frontend/invite.html", context, status=status)
