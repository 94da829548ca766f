"""Project exports in Label Studio's formats, streamed."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _

from annotation.models import Project
from annotation.task_filters import TaskQuery
from exports import converter
from exports.formats import FORMATS, json_full
from exports.formats.rows import ExportContext, ExportTask
from exports.selectors import export_chunks, export_data_keys, export_task_count
from tessera import validation
from tessera.errors import ApplicationError
from tessera.models import User
from tessera.services import audit_record


@dataclass
class ExportStream:
    content_type: str
    filename: str
    chunks: Iterator[str] = field(default_factory=lambda: iter(()))
    # A converter format's output, already written: the open file to send (``chunks`` is then empty).
    file: BinaryIO | None = None


# Ids travel as SQL parameters; SQLite allows 32,766 in one statement.
MAX_EXPORT_IDS = 10_000


def _task_ids(values: list[str]) -> list[int] | None:
    """Task ids from ``ids=1&ids=2``, ``ids[]=1`` or ``ids=1,2``, as Label Studio's clients send them."""
    ids: list[int] = []
    for value in values:
        for part in str(value).split(","):
            if not part.strip():
                continue
            # Beyond the database's 64-bit ids the query itself would fail mid-stream.
            task_id = validation.object_id(part, field="ids")
            if task_id < 1:
                raise ApplicationError(_("%(part)r is not a task id.") % {"part": part}, field="ids")
            ids.append(task_id)
    if len(ids) > MAX_EXPORT_IDS:
        raise ApplicationError(
            _("At most %(limit)s ids in one export.") % {"limit": MAX_EXPORT_IDS},
            field="ids",
            code="too_many",
        )
    return ids or None


def project_export(
    *,
    project: Project,
    user: User,
    export_type: str,
    download_all_tasks: bool,
    ids: list[str] | None = None,
    query: TaskQuery | None = None,
) -> ExportStream:
    """``query``: the data table's filter (export the current filter); ``ids``: a selection of tasks."""
    writer = FORMATS.get(export_type.upper())
    if writer is None and export_type.upper() not in converter.CONVERTER_FORMATS:
        raise ApplicationError(
            _("Unknown exportType %(export_type)r; use one of %(formats)s.")
            % {
                "export_type": export_type,
                "formats": ", ".join([*FORMATS, *converter.CONVERTER_FORMATS]),
            },
            field="exportType",
            code="unsupported_format",
        )
    task_ids = _task_ids(ids or [])
    if writer is None:
        return _converter_export(
            project=project,
            user=user,
            export_type=export_type.upper(),
            download_all_tasks=download_all_tasks,
            task_ids=task_ids,
            query=query,
        )
    # Tables name their columns up front: read every data key first (Label Studio reads the whole export).
    table = export_type.upper() in ("CSV", "TSV")
    data_keys = (
        export_data_keys(
            project=project, only_annotated=not download_all_tasks, task_ids=task_ids, query=query
        )
        if table
        else ()
    )
    context = ExportContext(
        project_id=project.pk,
        data_variables=tuple(project.data_variables),
        control_names=tuple(project.parsed_label_config),
        delimiter="\t" if export_type.upper() == "TSV" else ",",
        data_keys=data_keys,
    )
    extension = "tsv" if export_type.upper() == "TSV" else writer.EXTENSION
    content_type = "text/tab-separated-values" if export_type.upper() == "TSV" else writer.CONTENT_TYPE
    chunks = export_chunks(
        project=project, only_annotated=not download_all_tasks, task_ids=task_ids, query=query
    )
    _audit_export(
        project=project,
        user=user,
        export_type=export_type.upper(),
        download_all_tasks=download_all_tasks,
        task_ids=task_ids,
        query=query,
    )
    return ExportStream(
        content_type=f"{content_type}; charset=utf-8",
        filename=f"project-{project.pk}-{export_type.upper()}.{extension}",
        chunks=writer.write(chunks, context),
    )


def _audit_export(
    *,
    project: Project,
    user: User,
    export_type: str,
    download_all_tasks: bool,
    task_ids: list[int] | None,
    query: TaskQuery | None,
) -> None:
    # Exports are how data leaves Tessera: each one is on the record, like a write.
    audit_record(
        actor=user,
        organization=project.organization_id,
        action="project.export",
        obj=project,
        details={
            "export_type": export_type,
            "download_all_tasks": download_all_tasks,
            "task_ids": len(task_ids) if task_ids else None,
            # An export of the data table's current filter says so (the filter itself is in the request).
            **({"filtered": True} if query is not None else {}),
        },
    )


def _safe_media_chunks(
    chunks: Iterable[list[ExportTask]], keys: frozenset[str]
) -> Iterator[list[ExportTask]]:
    """The tasks with media values the converter cannot resolve to a server file (exports/converter.py)."""
    for chunk in chunks:
        for task in chunk:
            data = json.loads(task.data_json)
            safe = converter.safe_media_data(data, keys) if isinstance(data, dict) else data
            if safe is not data:
                task.data_json = json.dumps(safe, ensure_ascii=False)
        yield chunk


def _converter_export(
    *,
    project: Project,
    user: User,
    export_type: str,
    download_all_tasks: bool,
    task_ids: list[int] | None,
    query: TaskQuery | None,
) -> ExportStream:
    """CoNLL 2003, COCO, YOLO, VOC: Label Studio's JSON written to a temporary file as the JSON export
    streams it, then converted by label_studio_sdk.converter. The converter holds COCO's whole output in
    memory and the answer is built before it is sent, hence the limit on the number of tasks."""
    reason = converter.misfit_reason(project.label_config, export_type)
    if reason is not None:
        raise ApplicationError(reason, field="exportType", code="format_does_not_fit")
    limit = settings.TESSERA_CONVERTER_EXPORT_MAX_TASKS
    only_annotated = not download_all_tasks
    count = export_task_count(
        project=project, only_annotated=only_annotated, task_ids=task_ids, query=query, cap=limit
    )
    if count > limit:
        raise ApplicationError(
            _(
                "%(format)s exports hold at most %(limit)s tasks; select fewer tasks "
                "(ids or filters), or export JSON."
            )
            % {"format": export_type, "limit": limit},
            field="exportType",
            code="too_many_tasks",
        )
    context = ExportContext(
        project_id=project.pk,
        data_variables=tuple(project.data_variables),
        control_names=tuple(project.parsed_label_config),
    )
    chunks: Iterable[list[ExportTask]] = export_chunks(
        project=project, only_annotated=only_annotated, task_ids=task_ids, query=query
    )
    keys = converter.media_keys(converter.config_schema(project.label_config))
    if keys:
        chunks = _safe_media_chunks(chunks, keys)
    try:
        converted = converter.convert_for_download(
            label_config=project.label_config,
            export_type=export_type,
            tasks_text=json_full.write(chunks, context),
        )
    except converter.ConversionFailed as error:
        raise ApplicationError(
            _("label-studio-sdk's converter could not write %(format)s from these tasks' data (%(error)s).")
            % {"format": export_type, "error": error},
            field="exportType",
            code="conversion_failed",
        ) from error
    _audit_export(
        project=project,
        user=user,
        export_type=export_type,
        download_all_tasks=download_all_tasks,
        task_ids=task_ids,
        query=query,
    )
    return ExportStream(
        content_type=converted.content_type,
        filename=f"project-{project.pk}-{export_type}.{converted.extension}",
        file=converted.file,
    )
