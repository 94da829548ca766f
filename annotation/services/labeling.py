"""What the annotator's browser app needs beyond Label Studio's API: skips with a reason, and the
figures of the home page and the labeling counter (tasks left for the caller, done today).

Skips reuse ``annotation_create`` so that counters, locks, drafts and the audit log stay on one
write path; the reason is stored on the same row in the same transaction.
"""

from dataclasses import dataclass
from datetime import datetime, time

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from annotation.models import Annotation, Project, Task
from annotation.services.annotations import annotation_create
from tessera import validation
from tessera.errors import ApplicationError
from tessera.models import Membership, User

SKIP_REASON_MAX_CHARS = 500


@dataclass(frozen=True)
class ProjectProgress:
    project: Project
    role: str
    tasks_left_for_user: int
    tasks_labeled: int
    done_today: int
    skipped_today: int

    @property
    def total_tasks(self) -> int:
        return self.project.task_count


def _start_of_today() -> datetime:
    # "Today" is the server's day (TIME_ZONE); annotators of one team share it.
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def _by_project(queryset) -> dict[int, int]:
    return {row["project_id"]: row["n"] for row in queryset.values("project_id").annotate(n=Count("id"))}


def project_progress_list(
    *, membership: Membership, user: User, project_ids: list[int] | None = None
) -> list[ProjectProgress]:
    """Progress of every project of the caller's organization, in four queries whatever their number."""
    queryset = Project.objects.filter(organization_id=membership.organization_id).order_by("-id")
    if project_ids is not None:
        queryset = queryset.filter(pk__in=project_ids)
    projects = list(queryset)
    ids = [project.pk for project in projects]
    mine = Annotation.objects.filter(task=OuterRef("pk"), completed_by=user)
    # Tasks still open under the overlap that the caller has not answered: what /next can still hand them
    # (less tasks momentarily locked by others, which would make the figure flicker).
    left = _by_project(Task.objects.filter(project_id__in=ids, is_labeled=False).filter(~Exists(mine)))
    labeled = _by_project(Task.objects.filter(project_id__in=ids, is_labeled=True))
    today = {
        row["project_id"]: row
        for row in Annotation.objects.filter(
            project_id__in=ids, completed_by=user, created_at__gte=_start_of_today()
        )
        .values("project_id")
        .annotate(
            done=Count("id", filter=Q(was_cancelled=False)), skipped=Count("id", filter=Q(was_cancelled=True))
        )
    }
    return [
        ProjectProgress(
            project=project,
            role=membership.role,
            tasks_left_for_user=left.get(project.pk, 0),
            tasks_labeled=labeled.get(project.pk, 0),
            done_today=today.get(project.pk, {}).get("done", 0),
            skipped_today=today.get(project.pk, {}).get("skipped", 0),
        )
        for project in projects
    ]


@transaction.atomic
def annotation_skip(
    *, task: Task, user: User, reason, lead_time=None, membership: Membership | None = None
) -> Annotation:
    """Skip a task (``was_cancelled``) and say why; the reason is optional but bounded.

    A skip is the caller's answer to the task: /next does not hand it back, and a second skip or a
    submit by an annotator or reviewer is refused (409 already_answered); a PATCH of the skip turns it
    into an answer."""
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise ApplicationError("reason must be text.", field="reason")
    reason = reason.strip()
    if len(reason) > SKIP_REASON_MAX_CHARS:
        raise ApplicationError(
            f"reason is {len(reason)} characters; the limit is {SKIP_REASON_MAX_CHARS}.",
            field="reason",
            code="too_long",
        )
    validation.check_text(reason, field="reason")
    annotation = annotation_create(
        task=task, user=user, result=[], was_cancelled=True, lead_time=lead_time, membership=membership
    )
    if reason:
        annotation.skip_reason = reason
        annotation.save(update_fields=["skip_reason"])
    return annotation


def annotations_recent(*, project: Project, user: User, limit: int) -> list[Annotation]:
    """The caller's latest annotations in a project with their tasks, newest first, for "edit an earlier one"."""
    return list(
        Annotation.objects.filter(project=project, completed_by=user)
        .select_related("task")
        .order_by("-id")[:limit]
    )
