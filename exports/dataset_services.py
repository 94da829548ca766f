"""Dataset versions: create (check the recipe, queue the build), run (a worker, under the row's lease),
delete, preview, and the reaper for builds whose worker died.

A build is a job row claimed through its lease (annotation/services/leases.py, as imports and
pre-labeling jobs are): a duplicate delivery claims nothing, a killed worker's build goes back to the
queue once its lease runs out, and the retry empties the version's folder and builds from nothing, so
its files hash the same as a clean run's. A completed version is never written again.
"""

import contextlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerUnreachable

from annotation.models import JobState, Project
from annotation.selectors import task_query_limits
from annotation.services.leases import Lease, LeaseLost, expired, requeue
from exports.datasets import storage
from exports.datasets.build import DatasetBuild
from exports.datasets.curation import steps_check
from exports.datasets.recipes import recipe_parse, split_ratios
from exports.datasets.selection import (
    dataset_context,
    selection_count,
    selection_has_field,
    selection_preview_rows,
)
from exports.datasets.splits import SplitRow, assign_splits
from exports.models import DatasetVersion
from tessera.errors import ApplicationError
from tessera.models import User
from tessera.services import audit_record

logger = logging.getLogger(__name__)


def _error(code: str, message: str, field: str | None = None) -> dict:
    return {"code": code, "message": message, "field": field}


def recipe_check(*, project: Project, body: Any, snapshot: bool = False, preview: bool = False) -> dict:
    """The normalised recipe, with the checks that read the project's tasks: it selects something, and
    its group field is one that a selected task has. A snapshot and a preview need no ``formats`` (a
    snapshot is converted when downloaded; formats change no count)."""
    recipe = recipe_parse(
        body,
        context=dataset_context(project),
        limits=task_query_limits(),
        formats_required=not (snapshot or preview),
    )
    steps_check(recipe)
    if selection_count(project=project, recipe=recipe) == 0:
        raise ApplicationError(
            _("The recipe selects no task: no task matches its filter with an annotation that counts."),
            field="tasks",
            code="empty_selection",
        )
    if recipe["group_by"] is not None and not selection_has_field(
        project=project, recipe=recipe, key=recipe["group_by"]
    ):
        raise ApplicationError(
            _("No selected task has the data field %(field)r.") % {"field": recipe["group_by"]},
            field="group_by",
            code="unknown_field",
        )
    return recipe


def _enqueue(version_id: int) -> None:
    from exports.tasks import dataset_build

    try:
        dataset_build.delay(version_id)
    except BrokerUnreachable as exc:
        # A created row with no message would wait forever: fail it.
        logger.error("Dataset version %s could not be queued: %s", version_id, exc)
        DatasetVersion.objects.filter(pk=version_id, state=JobState.CREATED).update(
            state=JobState.FAILED,
            finished_at=timezone.now(),
            error=_error("queue_unavailable", "The job queue was unreachable."),
        )


def dataset_version_create(
    *, project: Project, user: User, body: Any, snapshot: bool = False
) -> DatasetVersion:
    recipe = recipe_check(project=project, body=body, snapshot=snapshot)
    total = selection_count(project=project, recipe=recipe)
    with transaction.atomic():
        parent = (
            DatasetVersion.objects.filter(project=project, state=JobState.COMPLETED).order_by("-pk").first()
        )
        version = DatasetVersion.objects.create(
            organization_id=project.organization_id,
            project=project,
            name=recipe["name"],
            recipe=recipe,
            snapshot=snapshot,
            parent=parent,
            progress_total=total,
            created_by=user,
        )
        if not version.name:
            version.name = f"v{version.pk}"
            version.recipe = {**recipe, "name": version.name}
            version.save(update_fields=["name", "recipe"])
        audit_record(
            actor=user,
            organization=project.organization_id,
            action="dataset_version.create",
            obj=version,
            details={"formats": recipe["formats"], "tasks": total, "snapshot": snapshot},
        )
        transaction.on_commit(partial(_enqueue, version.pk))
    return version


def dataset_version_delete(*, version: DatasetVersion, user: User) -> None:
    with transaction.atomic():
        audit_record(
            actor=user,
            organization=version.organization_id,
            action="dataset_version.delete",
            obj=version,
            details={"project": version.project_id, "name": version.name},
        )
        version.delete()


def dataset_version_download_record(
    *, version: DatasetVersion, user: User, format_name: str, split: str | None
) -> None:
    """Downloads are how a dataset leaves Tessera: each one is on the record, as project exports are."""
    audit_record(
        actor=user,
        organization=version.organization_id,
        action="dataset_version.download",
        obj=version,
        details={"format": format_name, "split": split},
    )


# ---- the build ---------------------------------------------------------------------------------------


def _parent_manifest(version: DatasetVersion) -> tuple[int, str] | None:
    parent = version.parent
    if parent is None or parent.state != JobState.COMPLETED:
        return None
    manifest = next((f for f in parent.files if f["format"] == "manifest"), None)
    if manifest is None or not storage.resolve(manifest["path"]).exists():
        return None
    return parent.pk, manifest["path"]


def dataset_version_run(*, version_id: int) -> None:
    """Claim the version's build and run it; one someone else holds, or that is done, is left alone."""
    lease = Lease.claim(DatasetVersion, version_id)
    if lease is None:
        return
    mine = DatasetVersion.objects.filter(pk=version_id, state=JobState.IN_PROGRESS, lease_owner=lease.owner)

    def tick(done: int) -> None:
        lease.renew()
        if not mine.update(progress_done=done):
            raise LeaseLost(f"dataset version {version_id} is no longer held by {lease.owner}")

    version = DatasetVersion.objects.select_related("project", "parent").get(pk=version_id)
    try:
        output = DatasetBuild(
            project=version.project,
            version_id=version.pk,
            name=version.name,
            recipe=version.recipe,
            parent=_parent_manifest(version),
            tick=tick,
            beat=lease.renew,
            keep_items=version.snapshot,
            total=version.progress_total,
        ).run()
        with transaction.atomic():
            lease.hold()
            lease.complete(
                counts=output.counts,
                steps=output.steps,
                files=output.files,
                manifest_sha256=output.manifest_sha256,
                progress_done=output.counts["total"],
            )
    except ApplicationError as error:
        message = error.message
        if error.code == "time_limit":
            message = (
                f"The dataset build ran longer than its time limit ({lease.time_limit} s) and was stopped."
            )
        lease.fail(_error(error.code, message, error.field))
    except LeaseLost as lost:
        logger.warning("Dataset version %s stopped: %s", version_id, lost)
        if not DatasetVersion.objects.filter(pk=version_id).exists():
            # Deleted while it was being built: its deletion removed the folder, and this run may have
            # written into it since.
            storage.version_files_delete(project_id=version.project_id, version_id=version_id)
    except (DatabaseError, OSError):
        # A transient fault: the task retries, and the retry may claim the build at once.
        with contextlib.suppress(DatabaseError):
            lease.release()
        raise


def dataset_version_fail(*, version_id: int, message: str, code: str = "server_error") -> None:
    DatasetVersion.objects.filter(pk=version_id, state__in=(JobState.CREATED, JobState.IN_PROGRESS)).update(
        state=JobState.FAILED, finished_at=timezone.now(), lease_expires_at=None, error=_error(code, message)
    )


@dataclass
class ReapReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def dataset_versions_reap() -> ReapReport:
    """A build whose lease ran out goes back to created and is queued again, or fails with ``worker_lost``
    after TESSERA_JOB_MAX_ATTEMPTS claims. Rows being completed are locked by their owner and passed over."""
    report = ReapReport()
    now = timezone.now()
    with transaction.atomic():
        candidates = list(
            DatasetVersion.objects.select_for_update(skip_locked=True)
            .filter(expired(now))
            .order_by("pk")
            .values_list("pk", "attempts")
        )
        for version_id, attempts in candidates:
            still_expired = DatasetVersion.objects.filter(expired(now), pk=version_id)
            if attempts >= settings.TESSERA_JOB_MAX_ATTEMPTS:
                message = (
                    f"The dataset build was started {attempts} times and its worker stopped each time "
                    "before finishing (killed, out of memory, or restarted); it was given up."
                )
                if still_expired.update(
                    state=JobState.FAILED, finished_at=now, lease_expires_at=None,
                    error=_error("worker_lost", message),
                ):  # fmt: skip
                    report.failed.append(version_id)
            elif still_expired.update(state=JobState.CREATED, lease_owner="", lease_expires_at=None):
                report.requeued.append(version_id)
                transaction.on_commit(partial(_requeue, version_id))
    for version_id in report.requeued:
        logger.warning("Dataset version %s lost its worker; queued again.", version_id)
    return report


def _requeue(version_id: int) -> None:
    from exports.tasks import dataset_build

    requeue(DatasetVersion, version_id, dataset_build.delay, what="Dataset version")


# ---- preview -----------------------------------------------------------------------------------------


def _preview_label(labels_json: str) -> str | None:
    labels = json.loads(labels_json or "{}")
    for control in sorted(labels) if isinstance(labels, dict) else ():
        values = labels[control]
        if isinstance(values, list) and values:
            return str(values[0])
    return None


def dataset_preview(*, project: Project, body: Any) -> dict:
    """Counts per split and label that the recipe would give, without building: one read of each selected
    task's id, group field and stored labels (no annotation is read). Curation steps are not run, so a
    recipe with dedup may build fewer items; labels are the task's stored ones, not the chosen result's."""
    recipe = recipe_check(project=project, body=body, preview=True)
    rows = [
        SplitRow(row.task_id, row.group, _preview_label(row.labels_json))
        for row in selection_preview_rows(project=project, recipe=recipe)
    ]
    splits = assign_splits(
        rows,
        ratios=split_ratios(recipe),
        seed=recipe["seed"],
        stratify=recipe["stratify"],
        grouped=recipe["group_by"] is not None,
    )
    labels: dict[str, Counter] = {name: Counter() for name in split_ratios(recipe)}
    for row in rows:
        if row.label is not None:
            labels[splits[row.task_id]][row.label] += 1
    per_split = Counter(splits.values())
    return {
        "total": len(rows),
        "splits": {name: per_split.get(name, 0) for name in split_ratios(recipe)},
        "labels": {name: dict(sorted(counter.items())) for name, counter in labels.items()},
    }


# ---- Label Studio's snapshot API ---------------------------------------------------------------------


def _filter_mode(options: dict, key: str) -> str | None:
    value = options.get(key)
    return value if value in ("only", "exclude") else None


def snapshot_recipe(*, body: Any) -> dict:
    """A recipe from Label Studio's snapshot body: every annotation of every annotated task (``result``
    "all"), narrowed by what its filter options say that a recipe can say."""
    if not isinstance(body, dict):
        raise ApplicationError(_("The export must be a JSON object."), field="body")
    title = body.get("title")
    tasks = body.get("task_filter_options") or {}
    annotations = body.get("annotation_filter_options") or {}
    if not isinstance(tasks, dict):
        raise ApplicationError(_("task_filter_options must be an object."), field="task_filter_options")
    if not isinstance(annotations, dict):
        raise ApplicationError(
            _("annotation_filter_options must be an object."), field="annotation_filter_options"
        )
    recipe: dict[str, Any] = {"name": title if isinstance(title, str) else None, "result": "all"}
    reviewed = _filter_mode(tasks, "reviewed") or _filter_mode(annotations, "reviewed")
    if reviewed == "only":
        recipe["review"] = ["accepted", "fixed"]
    elif reviewed == "exclude":
        recipe["review"] = ["rejected", "submitted"]
    usual, gold = annotations.get("usual"), annotations.get("ground_truth")
    if gold is True and usual is False:
        recipe["gold"] = "only"
    elif usual is True and gold is False:
        recipe["gold"] = "exclude"
    return recipe


def snapshot_create(*, project: Project, user: User, body: Any) -> DatasetVersion:
    return dataset_version_create(project=project, user=user, body=snapshot_recipe(body=body), snapshot=True)
