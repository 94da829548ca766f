"""Organizations, members with roles, API tokens and the audit log."""

import hashlib
from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


def max_length_of(model: type[models.Model], field_name: str) -> int:
    """The ``max_length`` of a model's text field, for a clear 400 before the database refuses a value."""
    field = model._meta.get_field(field_name)
    if not isinstance(field, models.CharField) or field.max_length is None:
        raise TypeError(f"{model.__name__}.{field_name} is not a text field with a max_length.")
    return field.max_length


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    REVIEWER = "reviewer", "Reviewer"
    ANNOTATOR = "annotator", "Annotator"


# Higher rank may do everything a lower rank may.
ROLE_RANK = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.MANAGER: 3, Role.ADMIN: 4, Role.OWNER: 5}


class TesseraUserManager(UserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email__iexact=username)


class User(AbstractUser):
    """A person. Signs in with the e-mail address; ``username`` mirrors it for Django's admin tools."""

    email = models.EmailField(unique=True)
    active_organization = models.ForeignKey(
        "tessera.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The organization whose objects the API shows this user.",
    )
    # The browser app's preferences, set from the user menu. Empty means "follow the browser":
    # its Accept-Language for the language, prefers-color-scheme for the theme.
    language = models.CharField(
        max_length=8, blank=True, default="", choices=[("en", "English"), ("ja", "日本語")]
    )
    theme = models.CharField(
        max_length=8, blank=True, default="", choices=[("light", "Light"), ("dark", "Dark")]
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["username"]
    objects: ClassVar[TesseraUserManager] = TesseraUserManager()

    # Not a field: tessera.selectors.membership_for caches the membership of the active organization
    # here for the rest of the request, since every permission check asks for it.
    _tessera_membership: "Membership | None"


class Organization(models.Model):
    title = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)
    is_active = models.BooleanField(
        default=True,
        help_text="False once deactivated: the row and the member's work stay, their access to the "
        "organization stops.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user")
        ]

    @property
    def rank(self) -> int:
        return ROLE_RANK[Role(self.role)]


class ApiToken(models.Model):
    """An API token. Only a SHA-256 digest is stored; the key is shown once, when made."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters of the key, to tell tokens apart.")
    name = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this moment the token no longer authenticates; null: never."
    )

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class Invitation(models.Model):
    """An invitation to join an organization, by a single-use link that expires.

    Only a SHA-256 digest of the link's token is stored, as for API tokens: the link is shown once,
    to the admin who makes it (and sent by e-mail).
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(help_text="Who the invitation is for; the account made or joined has it.")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)
    digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-created_at"], name="invitation_org_recent")]

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class AuthFailureCount(models.Model):
    """Failed sign-ins or token checks for one account or one client address in one fixed time window.

    Kept in the database, so every web worker of an install sees the same counts with no extra service.
    ``key`` is ``account:<e-mail>`` or ``address:<ip>``; ``window`` is the window's number since the epoch.
    """

    key = models.CharField(max_length=300)
    window = models.BigIntegerField()
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="auth_failure_unique_window")]


class AuditEvent(models.Model):
    """One row per domain action, written in the same transaction as the action."""

    organization = models.ForeignKey(Organization, null=True, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.BigIntegerField(null=True)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_org_recent"),
            # A task's history (GET /api/tasks/{id}/history/) reads the events of one object at a time.
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]
