"""What the annotator's browser app needs beyond Label Studio's API: skips with a reason, and the
figures of the home page and the labeling counter (tasks left for the caller, done today).

Skips reuse ``annotation_create`` so that counters, locks, drafts and the audit log stay on one
write path; the reason is stored on the same row in the same transaction.
"""

from dataclasses import dataclass
from datetime import datetime, time

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.models import Annotation, Project, ProjectMember, Task
from annotation.services.annotations import annotation_create
from tessera import validation
from tessera.errors import ApplicationError
from tessera.models import ROLE_RANK, Membership, Role, User
from tessera.rows import db_datetime

SKIP_REASON_MAX_CHARS = 500

# Per project: the open tasks the caller has answered or skipped, and their answers and skips since
# the start of today. Through the caller's own annotations (the annotation_project_author index).
_CALLER_SHARE_SQL = f"""
SELECT a."project_id",
  COUNT(DISTINCT CASE WHEN t."is_labeled" = %s THEN a."task_id" END),
  SUM(CASE WHEN a."created_at" >= %s AND NOT a."was_cancelled" THEN 1 ELSE 0 END),
  SUM(CASE WHEN a."created_at" >= %s AND a."was_cancelled" THEN 1 ELSE 0 END)
FROM "{Annotation._meta.db_table}" a JOIN "{Task._meta.db_table}" t ON t."id" = a."task_id"
WHERE a."completed_by_id" = %s AND a."project_id" IN ({{ids}})
GROUP BY a."project_id"
"""


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


def project_progress_list(
    *, membership: Membership, user: User, projects: list[Project] | None = None
) -> list[ProjectProgress]:
    """Progress of every project of the caller's organization (or of ``projects``), in three queries whatever
    their number.

    Nothing here scans a project's tasks: totals come from the counters on the project row, and the
    caller's share from their own annotations (the annotation_project_author index), so the call the
    labeling page makes after every submit costs the same at a thousand tasks or a million.
    """
    if projects is None:
        visible = Project.objects.filter(organization_id=membership.organization_id)
        if membership.rank < ROLE_RANK[Role.MANAGER]:
            # Members-only projects show only to their members, in the same query.
            visible = visible.filter(
                Q(members_only=False)
                | Exists(ProjectMember.objects.filter(project_id=OuterRef("pk"), user_id=user.pk))
            )
        projects = list(visible.order_by("-id"))
    # Projects handed in were read by the caller through a scoped selector, with their counters.
    ids = [project.pk for project in projects]
    # Tasks still open under the overlap that the caller has not answered: what /next can still hand them
    # (less tasks momentarily locked by others, which would make the figure flicker). That is the open
    # tasks less those of them the caller has answered (or skipped). With them, the caller's answers and
    # skips of today: one statement, written out (the labeling page asks after every submit; see
    # tessera/rows.py).
    answered_open: dict[int, int] = {}
    today: dict[int, tuple[int, int]] = {}
    if ids:
        start = db_datetime(_start_of_today())
        with connection.cursor() as cursor:
            cursor.execute(
                _CALLER_SHARE_SQL.format(ids=", ".join(["%s"] * len(ids))),
                [False, start, start, user.pk, *ids],
            )
            for project_id, open_answered, done, skipped in cursor.fetchall():
                answered_open[project_id] = open_answered
                today[project_id] = (done or 0, skipped or 0)
    return [
        ProjectProgress(
            project=project,
            role=membership.role,
            tasks_left_for_user=max(
                0, project.task_count - project.labeled_task_count - answered_open.get(project.pk, 0)
            ),
            tasks_labeled=project.labeled_task_count,
            done_today=today.get(project.pk, (0, 0))[0],
            skipped_today=today.get(project.pk, (0, 0))[1],
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
        raise ApplicationError(_("reason must be text."), field="reason")
    reason = reason.strip()
    if len(reason) > SKIP_REASON_MAX_CHARS:
        raise ApplicationError(
            _("reason is %(length)s characters; the limit is %(limit)s.")
            % {"length": len(reason), "limit": SKIP_REASON_MAX_CHARS},
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
