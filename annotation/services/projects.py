"""Project writes: create, update, delete. The label config is parsed once here and its summary stored."""

import math
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField as BooleanOutput
from django.db.models import ExpressionWrapper, F, Q
from django.utils.translation import gettext as _

from annotation.label_config import LabelSchema, parse_label_config
from annotation.models import (
    Annotation,
    AnnotatorDay,
    AnnotatorGold,
    Comment,
    Draft,
    GoldScore,
    ImportJob,
    Prediction,
    Project,
    ProjectQualityShard,
    Review,
    ReviewLock,
    ReviewPolicy,
    Sampling,
    Task,
    TaskLock,
    TaskQuality,
    TaskSearchText,
)
from annotation.services.activity_totals import project_activity_clear, project_states_recount
from annotation.services.states import task_states_refresh
from tessera.errors import ApplicationError, NotFound
from tessera.models import Organization, User, max_length_of
from tessera.services import audit_record

DEFAULT_LABEL_CONFIG = "<View></View>"
EDITABLE_FIELDS = {
    "title": str,
    "description": str,
    "label_config": str,
    "expert_instruction": str,
    "show_instruction": bool,
    "show_skip_button": bool,
    "enable_empty_annotation": bool,
    "maximum_annotations": int,
    "sampling": str,
    "color": str,
    "members_only": bool,
    # Review, gold and comment settings (issue 9).
    "review_policy": str,
    "review_sample_percent": int,
    "review_agreement_threshold": float,
    "show_annotations_after_submit": bool,
    "gold_ratio": float,
    "gold_score_floor": float,
    "gold_floor_pauses_queue": bool,
    "comments_block_acceptance": bool,
    # Pre-labeling (issue 10).
    "prelabel_refit_every": int,
}
# Settings that may be null (unset).
NULLABLE_FIELDS = {"gold_score_floor"}
# A learning pre-labeler refits after this many new labels at most (0: only when asked).
PRELABEL_REFIT_EVERY_MAX = 1_000_000
# Settings that are shares: between 0 and 1.
SHARE_FIELDS = ("review_agreement_threshold", "gold_ratio", "gold_score_floor")
# Settings that decide which tasks go to review: a change moves task states (states.py).
REVIEW_SELECTION_FIELDS = (
    "maximum_annotations", "review_policy", "review_sample_percent", "review_agreement_threshold",
)  # fmt: skip


def project_schema(project: Project) -> LabelSchema:
    return parse_label_config(project.label_config, max_bytes=settings.TESSERA_MAX_LABEL_CONFIG_BYTES)


def _clean(fields: dict) -> dict:
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        expected = EDITABLE_FIELDS.get(name)
        if expected is None:
            continue
        if value is None and name in NULLABLE_FIELDS:
            cleaned[name] = None
            continue
        if expected is float:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ApplicationError(_("%(name)s must be a number.") % {"name": name}, field=name)
            cleaned[name] = float(value)
            continue
        if expected is int and (not isinstance(value, int) or isinstance(value, bool)):
            raise ApplicationError(_("%(name)s must be an integer.") % {"name": name}, field=name)
        if expected is bool and not isinstance(value, bool):
            raise ApplicationError(_("%(name)s must be true or false.") % {"name": name}, field=name)
        if expected is str and not isinstance(value, str):
            raise ApplicationError(_("%(name)s must be a string.") % {"name": name}, field=name)
        cleaned[name] = value
    if "title" in cleaned:
        cleaned["title"] = cleaned["title"].strip()
        if not cleaned["title"] or len(cleaned["title"]) > 250:
            raise ApplicationError(_("title must be 1 to 250 characters."), field="title")
    if "maximum_annotations" in cleaned and not 1 <= cleaned["maximum_annotations"] <= 100:
        raise ApplicationError(
            _("maximum_annotations (overlap) must be between 1 and 100."), field="maximum_annotations"
        )
    if "sampling" in cleaned and cleaned["sampling"] not in Sampling.values:
        raise ApplicationError(
            _("sampling must be one of: %(values)s.") % {"values": ", ".join(Sampling.values)},
            field="sampling",
        )
    if "review_policy" in cleaned and cleaned["review_policy"] not in ReviewPolicy.values:
        raise ApplicationError(
            _("review_policy must be one of: %(values)s.") % {"values": ", ".join(ReviewPolicy.values)},
            field="review_policy",
        )
    if "review_sample_percent" in cleaned and not 0 <= cleaned["review_sample_percent"] <= 100:
        raise ApplicationError(
            _("review_sample_percent must be between 0 and 100."), field="review_sample_percent"
        )
    if (
        "prelabel_refit_every" in cleaned
        and not 0 <= cleaned["prelabel_refit_every"] <= PRELABEL_REFIT_EVERY_MAX
    ):
        raise ApplicationError(
            _("prelabel_refit_every must be between 0 and %(max)s.") % {"max": PRELABEL_REFIT_EVERY_MAX},
            field="prelabel_refit_every",
        )
    for name in SHARE_FIELDS:
        if cleaned.get(name) is not None and not 0 <= cleaned[name] <= 1:
            raise ApplicationError(_("%(name)s must be between 0 and 1.") % {"name": name}, field=name)
    if "color" in cleaned and len(cleaned["color"]) > max_length_of(Project, "color"):
        raise ApplicationError(_("color must be a short color code such as #FFAA00."), field="color")
    return cleaned


def _apply_config(project: Project, label_config: str) -> None:
    schema = parse_label_config(label_config, max_bytes=settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    project.label_config = label_config
    project.parsed_label_config = schema.summary()
    project.data_variables = list(schema.variables)


def _values_used(region: dict) -> set[str]:
    """The label values a region picks: strings in the lists of its value (choices, labels, …)."""
    value = region.get("value")
    if not isinstance(value, dict):
        return set()
    return {
        item for items in value.values() if isinstance(items, list) for item in items if isinstance(item, str)
    }


def _results_of(model, project: Project, *, batch: int = 2000):
    """Every result of the project's annotations or predictions, read in batches by id. (Not a server-side
    cursor: raising mid-read would leave PostgreSQL closing a cursor its rolled-back savepoint removed.)"""
    last_id = 0
    while rows := list(
        model.objects.filter(project=project, pk__gt=last_id)
        .order_by("pk")
        .values_list("pk", "result")[:batch]
    ):
        last_id = rows[-1][0]
        yield from (result for _, result in rows)


def _refuse_orphaned_results(project: Project, *, previous_config: str) -> None:
    """A new config may not drop a control, or a label, that annotations or predictions still use:
    their results would no longer match the config (Label Studio refuses such a change too).

    Only a config that drops something reads the project's results, once, in chunks.
    """
    try:
        before = parse_label_config(previous_config, max_bytes=settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    except ApplicationError:
        return  # the default empty config has nothing that results could use
    after = project_schema(project)
    dropped_controls = {
        name for name, control in before.controls.items()
        if name not in after.controls or after.controls[name].tag != control.tag
    }  # fmt: skip
    dropped_labels = {
        name: set(control.labels) - set(after.controls[name].labels)
        for name, control in before.controls.items()
        if name in after.controls and set(control.labels) - set(after.controls[name].labels)
    }
    if not dropped_controls and not dropped_labels:
        return
    for model in (Annotation, Prediction):
        for result in _results_of(model, project):
            for region in result if isinstance(result, list) else []:
                name = region.get("from_name") if isinstance(region, dict) else None
                if not isinstance(name, str):
                    continue
                noun = _("annotations") if model is Annotation else _("predictions")
                if name in dropped_controls:
                    raise ApplicationError(
                        _('The new config drops or retypes the control "%(name)s", which %(noun)s still use.')
                        % {"name": name, "noun": noun},
                        field="label_config",
                        code="in_use",
                    )
                still_used = _values_used(region) & dropped_labels.get(name, set())
                if still_used:
                    raise ApplicationError(
                        _('The new config drops %(values)s from "%(name)s", which %(noun)s still use.')
                        % {"values": ", ".join(sorted(still_used)), "name": name, "noun": noun},
                        field="label_config",
                        code="in_use",
                    )


@transaction.atomic
def project_create(*, organization: Organization, user: User, fields: dict) -> Project:
    cleaned = _clean(fields)
    if not cleaned.get("title"):
        cleaned["title"] = "New project"
    label_config = cleaned.pop("label_config", None)
    project = Project(organization=organization, created_by=user, **cleaned)
    if label_config is not None:
        _apply_config(project, label_config)
    else:
        project.label_config = DEFAULT_LABEL_CONFIG
    project.save()
    audit_record(actor=user, organization=organization, action="project.create", obj=project)
    return project


@transaction.atomic
def project_update(*, project: Project, user: User, fields: dict) -> Project:
    cleaned = _clean(fields)
    project = Project.objects.select_for_update().get(pk=project.pk)
    label_config = cleaned.pop("label_config", None)
    if label_config is not None and label_config != project.label_config:
        previous = project.label_config
        _apply_config(project, label_config)
        _refuse_orphaned_results(project, previous_config=previous)
    overlap_changed = (
        "maximum_annotations" in cleaned and cleaned["maximum_annotations"] != project.maximum_annotations
    )
    members_only_changed = "members_only" in cleaned and cleaned["members_only"] != project.members_only
    selection_changed = any(
        name in cleaned and cleaned[name] != getattr(project, name) for name in REVIEW_SELECTION_FIELDS
    )
    for name, value in cleaned.items():
        setattr(project, name, value)
    project.save()
    if overlap_changed:
        # One UPDATE recomputes every task's state for the new overlap.
        Task.objects.filter(project=project).update(
            is_labeled=ExpressionWrapper(
                Q(total_annotations__gte=project.maximum_annotations), output_field=BooleanOutput()
            )
        )
        # The overlap decides is_labeled, so the labeled count is counted again (rare, under the row lock).
        Project.objects.filter(pk=project.pk).update(
            labeled_task_count=Task.objects.filter(project=project, is_labeled=True).count()
        )
    if selection_changed:
        # The overlap and the review policy decide where labeled tasks stand: one set-based UPDATE
        # under the project's row lock (writers of its tasks wait for it), and the backlog's
        # counts of tasks per state counted again.
        task_states_refresh(project)
        project_states_recount(project)
    audit_record(
        actor=user,
        organization=project.organization_id,
        action="project.update",
        obj=project,
        details={
            "fields": sorted(set(cleaned) | ({"label_config"} if label_config is not None else set())),
            **({"members_only": project.members_only} if members_only_changed else {}),
        },
    )
    return project


# What hangs off a project's tasks, in the order it is deleted before them. Deletes here are
# raw (Django's cascade collector loads every related row into memory first; with a million
# tasks that is gigabytes), so a new model that points at tasks or annotations belongs here.
TASK_CHILDREN = (
    ReviewLock, Review, Comment, TaskQuality, TaskLock, Draft, Annotation, Prediction, TaskSearchText, AnnotatorDay,
)  # fmt: skip


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _delete_rows(model, project: Project) -> int:
    if hasattr(model, "project"):
        rows = model.objects.filter(project=project)
    elif hasattr(model, "task"):
        rows = model.objects.filter(task__project=project)
    else:
        rows = model.objects.filter(annotation__project=project)
    return rows._raw_delete(rows.db)


def _project_lock(project: Project) -> None:
    """``FOR UPDATE`` on the project row: every writer of its tasks holds ``FOR KEY SHARE`` on it first
    (annotation/services/counters.py), so this waits for those in flight, and later ones wait for
    this transaction and then find their task gone (404) instead of writing into deleted tasks."""
    if not Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True).first():
        raise NotFound(_("Project not found."))


@transaction.atomic
def project_delete(*, project: Project, user: User) -> None:
    _project_lock(project)
    audit_record(
        actor=user, organization=project.organization_id, action="project.delete", obj=project,
        details={"title": project.title},
    )  # fmt: skip
    # Uploads of jobs not yet run would stay on disk with no row to name them.
    uploads = [
        Path(settings.TESSERA_IMPORT_DIR) / name
        for name in ImportJob.objects.filter(project=project).values_list("file_name", flat=True)
        if name
    ]
    # Children go first, each in one DELETE.
    for model in (*TASK_CHILDREN, ImportJob, Task):
        _delete_rows(model, project)
    project.delete()
    transaction.on_commit(lambda: _unlink_all(uploads))


@transaction.atomic
def project_tasks_delete(*, project: Project, user: User) -> int:
    """Delete every task of the project with its annotations, predictions, drafts and locks.

    The project's row lock waits for an import in flight. ``task_counter`` is kept, so inner
    ids of later imports continue after the deleted ones instead of reusing them.
    """
    _project_lock(project)
    for model in TASK_CHILDREN:
        _delete_rows(model, project)
    count = _delete_rows(Task, project)
    # No task left, so no gold answer and no agreement: scores start again (flags and pauses stay as
    # they were).
    GoldScore.objects.filter(project=project).delete()
    ProjectQualityShard.objects.filter(project=project).delete()
    project_activity_clear(project.pk)
    AnnotatorGold.objects.filter(project=project).update(gold_answers=0, gold_answers_at_resume=0)
    Project.objects.filter(pk=project.pk).update(
        task_count=0, annotation_total=0, prediction_total=0, labeled_task_count=0, annotated_task_count=0,
        task_layout_version=F("task_layout_version") + 1,
    )  # fmt: skip
    audit_record(
        actor=user, organization=project.organization_id, action="project.tasks_delete", obj=project,
        details={"task_count": count},
    )  # fmt: skip
    return count
