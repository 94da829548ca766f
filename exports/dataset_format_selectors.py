"""Which dataset formats a project's versions can be written in: every registered format, with the reason
it does not fit the project's labeling config when it does not. The build form lists them, so a manager
ticks only formats the build will accept (a build still checks them: a 400 names an unfit one)."""

from dataclasses import dataclass

from annotation.models import Project
from exports.datasets.selection import dataset_context
from exports.formats.datasets import DATASET_FORMATS


@dataclass(frozen=True)
class FormatChoice:
    name: str
    extension: str
    per_split: bool
    # None when the format fits the project, else why not (the same sentence a build's 400 gives).
    unfit: str | None


def dataset_format_choices(*, project: Project) -> list[FormatChoice]:
    context = dataset_context(project)
    return [
        FormatChoice(name=fmt.name, extension=fmt.extension, per_split=fmt.per_split, unfit=fmt.fits(context))
        for fmt in sorted(DATASET_FORMATS.values(), key=lambda fmt: fmt.name.lower())
    ]
