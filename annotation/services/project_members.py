"""Project membership: who may label or review a project that restricts it (``Project.members_only``).

Managers and above always may; an annotator or reviewer of such a project must be one of its
``ProjectMember`` rows. The check is one indexed EXISTS on (project_id, user_id), made only when the
project restricts membership and the caller ranks below manager, so ``/next`` stays as fast as before.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from annotation.models import Project, ProjectMember
from tessera import validation
from tessera.errors import ApplicationError, NotFound, PermissionDenied
from tessera.memberships import email_value
from tessera.models import ROLE_RANK, Membership, Role, User
from tessera.services import audit_record


def may_work_on(*, project: Project, user: User, rank: int) -> bool:
    """Whether a caller of organization rank ``rank`` may label or review the project."""
    if not project.members_only or rank >= ROLE_RANK[Role.MANAGER]:
        return True
    return ProjectMember.objects.filter(project_id=project.pk, user_id=user.pk).exists()


def project_member_required(*, project: Project, user: User, rank: int) -> None:
    """403 ``not_a_project_member`` for an annotator or reviewer outside a members-only project."""
    if not may_work_on(project=project, user=user, rank=rank):
        raise PermissionDenied(
            _("Only this project's members may label it; ask a manager to add you."),
            code="not_a_project_member",
        )


def _organization_member(project: Project, *, user_id: object, email: object) -> Membership:
    """The active membership, in the project's organization, of the user a request names."""
    if (user_id is None) == (email is None):
        raise ApplicationError(_("Send either user (an id) or email."), field="user", code="required")
    rows = Membership.objects.select_related("user").filter(
        organization_id=project.organization_id, is_active=True
    )
    if user_id is not None:
        if isinstance(user_id, bool) or not isinstance(user_id, int):
            raise ApplicationError(_("user must be a user id."), field="user")
        field = "user"
        membership = rows.filter(user_id=validation.object_id(user_id, field="user")).first()
    else:
        field = "email"
        membership = rows.filter(user__email__iexact=email_value(email)).first()
    if membership is None:
        raise ApplicationError(
            _("This person is not an active member of the organization."), field=field, code="not_a_member"
        )
    return membership


@transaction.atomic
def project_member_add(
    *, project: Project, actor: User, user_id: object = None, email: object = None
) -> tuple[ProjectMember, Membership, bool]:
    """Add an active member of the organization to the project: (row, their organization membership,
    created). Adding twice is harmless."""
    membership = _organization_member(project, user_id=user_id, email=email)
    member, created = ProjectMember.objects.get_or_create(
        project=project, user=membership.user, defaults={"added_by": actor}
    )
    if created:
        audit_record(
            actor=actor,
            organization=project.organization_id,
            action="project.member_add",
            obj=project,
            details={"user": membership.user_id, "email": membership.user.email},
        )
    return member, membership, created


@transaction.atomic
def project_member_remove(*, project: Project, actor: User, user_id: object) -> None:
    if isinstance(user_id, bool) or not isinstance(user_id, (int, str)):
        raise ApplicationError(_("user must be a user id."), field="user")
    user_id = validation.object_id(user_id, field="user")
    member = ProjectMember.objects.select_for_update().filter(project=project, user_id=user_id).first()
    if member is None:
        raise NotFound(_("This person is not a member of the project."))
    member.delete()
    audit_record(
        actor=actor,
        organization=project.organization_id,
        action="project.member_remove",
        obj=project,
        details={"user": user_id},
    )
