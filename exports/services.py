"""Project exports in Label Studio's formats, streamed."""

from collections.abc import Iterator
from dataclasses import dataclass

from annotation.models import Project
from exports.formats import FORMATS
from exports.formats.rows import ExportContext
from exports.selectors import export_chunks
from tessera.errors import ApplicationError


@dataclass
class ExportStream:
    content_type: str
    filename: str
    chunks: Iterator[str]


def project_export(*, project: Project, export_type: str, download_all_tasks: bool) -> ExportStream:
    writer = FORMATS.get(export_type.upper())
    if writer is None:
        raise ApplicationError(
            f"Unknown exportType {export_type!r}; use one of {', '.join(FORMATS)}.",
            field="exportType",
            code="unsupported_format",
        )
    context = ExportContext(
        project_id=project.pk,
        data_variables=tuple(project.data_variables),
        control_names=tuple(project.parsed_label_config),
        delimiter="\t" if export_type.upper() == "TSV" else ",",
    )
    extension = "tsv" if export_type.upper() == "TSV" else writer.EXTENSION
    content_type = "text/tab-separated-values" if export_type.upper() == "TSV" else writer.CONTENT_TYPE
    chunks = export_chunks(project=project, only_annotated=not download_all_tasks)
    return ExportStream(
        content_type=f"{content_type}; charset=utf-8",
        filename=f"project-{project.pk}-{export_type.upper()}.{extension}",
        chunks=writer.write(chunks, context),
    )
