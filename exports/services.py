"""Project exports in Label Studio's formats, streamed."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from annotation.models import Project
from annotation.task_filters import TaskQuery
from exports.formats import FORMATS
from exports.formats.rows import ExportContext
from exports.selectors import export_chunks, export_data_keys
from tessera import validation
from tessera.errors import ApplicationError
from tessera.models import User
from tessera.services import audit_record


@dataclass
class ExportStream:
    content_type: str
    filename: str
    chunks: Iterator[str]


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
    if writer is None:
        raise ApplicationError(
            _("Unknown exportType %(export_type)r; use one of %(formats)s.")
            % {"export_type": export_type, "formats": ", ".join(FORMATS)},
            field="exportType",
            code="unsupported_format",
        )
    task_ids = _task_ids(ids or [])
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
    # Exports are how data leaves Tessera: each one is on the record, like a write.
    audit_record(
        actor=user,
        organization=project.organization_id,
        action="project.export",
        obj=project,
        details={
            "export_type": export_type.upper(),
            "download_all_tasks": download_all_tasks,
            "task_ids": len(task_ids) if task_ids else None,
            # An export of the data table's current filter says so (the filter itself is in the request).
            **({"filtered": True} if query is not None else {}),
        },
    )
    return ExportStream(
        content_type=f"{content_type}; charset=utf-8",
        filename=f"project-{project.pk}-{export_type.upper()}.{extension}",
        chunks=writer.write(chunks, context),
    )
