"""Comments on tasks: threads, replies, mentions, resolving.

Anyone who may see a task may comment on it: every member of the organization, and in a members-only
project its members and managers and above (``project_member_required``). A comment without a parent
opens a thread; a reply names any comment of the thread and is attached to the thread's root, so
threads are one level deep. Threads are resolved and reopened (``is_resolved``) by anyone on the
project; the text is changed by its author only; a comment is deleted by its author or a manager and
above (a thread's root takes its replies with it). Every change writes an audit event in its
transaction.

Text is stored as sent (HTML included: it is text, and the browser renders it as text), bounded by
``TESSERA_COMMENT_MAX_CHARS`` and checked by ``tessera.validation``. ``@email`` of someone who may see
the project becomes a mention (their user id in ``Comment.mentions``); any other ``@address`` stays
plain text, so a mention reveals nothing about who has an account.
"""

import re

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.models import Annotation, Comment, Project, ProjectMember, Task
from annotation.services.project_members import project_member_required
from annotation.visibility import visible_annotations
from tessera import validation
from tessera.errors import ApplicationError, NotFound, PermissionDenied
from tessera.models import ROLE_RANK, Membership, Role, User
from tessera.services import audit_record

# "@" then an address; the "@" must not follow a word character, so "a@b.com" alone is no mention.
# The domain ends on a letter or digit, so "@ann@acme.test." leaves the full stop out.
_MENTION = re.compile(r"(?<![\w.%+-])@([\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# More addresses than this in one comment are read as text, not looked up.
MAX_MENTIONS = 50
UPDATABLE = ("text", "is_resolved")


def mentioned_emails(text: str) -> list[str]:
    """The addresses written as ``@email`` in ``text``, lower-cased, each once, in order."""
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        seen.setdefault(match.group(1).lower(), None)
        if len(seen) == MAX_MENTIONS:
            break
    return list(seen)


def _mention_ids(*, project: Project, text: str) -> list[int]:
    """Ids of the people ``@email`` names who may see the project, in the order the text names them."""
    emails = mentioned_emails(text)
    if not emails:
        return []
    rows = (
        Membership.objects.filter(organization_id=project.organization_id, is_active=True)
        .annotate(email_lower=Lower("user__email"))
        .filter(email_lower__in=emails)
        .values_list("user_id", "email_lower", "role")
    )
    found = {email: (user_id, role) for user_id, email, role in rows}
    if project.members_only:
        members = set(
            ProjectMember.objects.filter(
                project=project, user_id__in=[user_id for user_id, _role in found.values()]
            ).values_list("user_id", flat=True)
        )
        found = {
            email: (user_id, role)
            for email, (user_id, role) in found.items()
            if user_id in members or ROLE_RANK[Role(role)] >= ROLE_RANK[Role.MANAGER]
        }
    return [found[email][0] for email in emails if email in found]


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ApplicationError(_("text must be a string."), field="text")
    limit = settings.TESSERA_COMMENT_MAX_CHARS
    if len(value) > limit:
        raise ApplicationError(
            _("text is %(length)d characters; the limit is %(limit)d.")
            % {"length": len(value), "limit": limit},
            field="text",
            code="too_long",
        )
    validation.check_text(value, field="text")
    if not value.strip():
        raise ApplicationError(_("text may not be empty."), field="text", code="required")
    return value


def _id(value: object, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ApplicationError(_("%(field)s must be an id.") % {"field": field}, field=field)
    return validation.object_id(value, field=field)


@transaction.atomic
def comment_create(
    *,
    task: Task,
    user: User,
    membership: Membership,
    text: object,
    parent: object = None,
    annotation: object = None,
) -> Comment:
    """A comment on ``task`` (read through a scoped selector, ``task.project`` loaded)."""
    project = task.project
    project_member_required(project=project, user=user, rank=membership.rank)
    text = _text(text)
    root_id = None
    if parent is not None:
        named = Comment.objects.filter(pk=_id(parent, field="parent"), task=task).first()
        if named is None:
            raise ApplicationError(
                _("parent is not a comment of this task."), field="parent", code="invalid_parent"
            )
        root_id = named.parent_id or named.pk
        # The root's row lock: a thread deleted meanwhile is reported, not a foreign key failure.
        if not Comment.objects.select_for_update().filter(pk=root_id).exists():
            raise ApplicationError(
                _("parent is not a comment of this task."), field="parent", code="invalid_parent"
            )
    annotation_id = None
    if annotation is not None:
        # Only an annotation the caller may see (annotation/visibility.py): else it does not exist for them.
        found = visible_annotations(
            Annotation.objects.filter(pk=_id(annotation, field="annotation"), task=task),
            membership=membership,
            project=project,
        ).first()
        if found is None:
            raise ApplicationError(
                _("annotation is not an annotation of this task."),
                field="annotation",
                code="invalid_annotation",
            )
        annotation_id = found.pk
    comment = Comment.objects.create(
        task=task,
        project=project,
        parent_id=root_id,
        annotation_id=annotation_id,
        author=user,
        text=text,
        mentions=_mention_ids(project=project, text=text),
    )
    audit_record(
        actor=user,
        organization=project.organization_id,
        action="comment.create",
        obj=comment,
        details={
            "task": task.pk,
            "parent": root_id,
            "annotation": annotation_id,
            "mentions": comment.mentions,
            "chars": len(text),
        },
    )
    return comment


@transaction.atomic
def comment_update(*, comment: Comment, user: User, membership: Membership, fields: dict) -> Comment:
    """Change the text (author only) or resolve and reopen a thread (anyone on the project)."""
    project = comment.project
    project_member_required(project=project, user=user, rank=membership.rank)
    unknown = sorted(set(fields) - set(UPDATABLE))
    if unknown:
        raise ApplicationError(_("Unknown field %(field)s.") % {"field": unknown[0]}, field=unknown[0])
    if not fields:
        raise ApplicationError(_("Send text or is_resolved."), field="text", code="required")
    locked = Comment.objects.select_for_update().filter(pk=comment.pk).first()
    if locked is None:
        raise NotFound(_("Comment not found."))
    changed: list[str] = []
    if "text" in fields:
        if locked.author_id != user.pk:
            raise PermissionDenied(_("Only its author may change a comment's text."), code="not_author")
        text = _text(fields["text"])
        if text != locked.text:
            locked.text = text
            locked.mentions = _mention_ids(project=project, text=text)
            changed += ["text", "mentions"]
            audit_record(
                actor=user,
                organization=project.organization_id,
                action="comment.update",
                obj=locked,
                details={"task": locked.task_id, "mentions": locked.mentions, "chars": len(text)},
            )
    if "is_resolved" in fields:
        resolved = validation.flag(fields["is_resolved"], field="is_resolved")
        if locked.parent_id is not None:
            raise ApplicationError(
                _("Only a thread (a comment without parent) is resolved or reopened."),
                field="is_resolved",
                code="not_a_thread",
            )
        if resolved != locked.is_resolved:
            locked.is_resolved = resolved
            locked.resolved_by = user if resolved else None
            locked.resolved_at = timezone.now() if resolved else None
            changed += ["is_resolved", "resolved_by", "resolved_at"]
            audit_record(
                actor=user,
                organization=project.organization_id,
                action="comment.resolve" if resolved else "comment.reopen",
                obj=locked,
                details={"task": locked.task_id},
            )
    if changed:
        locked.save(update_fields=[*changed, "updated_at"])
    return locked


@transaction.atomic
def comment_delete(*, comment: Comment, user: User, membership: Membership) -> None:
    """Delete a comment (a thread's root takes its replies): its author, or a manager and above."""
    project = comment.project
    project_member_required(project=project, user=user, rank=membership.rank)
    if comment.author_id != user.pk and membership.rank < ROLE_RANK[Role.MANAGER]:
        raise PermissionDenied(_("Only its author or a manager may delete a comment."), code="not_author")
    replies = Comment.objects.filter(parent_id=comment.pk).count()
    deleted, _counts = Comment.objects.filter(pk=comment.pk).delete()
    if not deleted:
        raise NotFound(_("Comment not found."))
    audit_record(
        actor=user,
        organization=project.organization_id,
        action="comment.delete",
        object_type=Comment._meta.label_lower,
        object_id=comment.pk,
        details={"task": comment.task_id, "author": comment.author_id, "replies": replies},
    )
