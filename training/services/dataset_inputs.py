"""A dataset version as a training run's input: the organization's, completed, and holding the recipe's
dataset format, one file per split. The estimate and the launch both check it here, so both refuse the
same versions with the same 400s (field ``dataset``; codes ``not_found``, ``not_ready``, ``wrong_shape``,
``empty``, ``files_missing``).
"""

from pathlib import Path

from django.utils.translation import gettext as _

from annotation.models import JobState
from exports.dataset_selectors import dataset_version_get
from exports.datasets import storage
from exports.models import DatasetVersion
from tessera import validation
from tessera.errors import ApplicationError, NotFound
from tessera.models import Membership
from training.recipes.base import Recipe

FIELD = "dataset"


def dataset_version_for_recipe(
    membership: Membership, dataset_id: object, recipe: Recipe
) -> tuple[DatasetVersion, dict[str, Path]]:
    """The version and its files of the recipe's format by split: ``{"train": Path, "validation": Path,
    "test": Path}``, train always there and not empty, the other two only when the version has them
    with rows. Every refusal is an ApplicationError (400) naming ``dataset``."""
    pk = validation.object_id(dataset_id, field=FIELD)
    try:
        version = dataset_version_get(membership=membership, version_id=pk)
    except NotFound:
        # Another organization's version is no version at all to this caller: the same answer as a gap.
        raise ApplicationError(_("No such dataset version."), field=FIELD, code="not_found") from None
    if version.state != JobState.COMPLETED:
        raise ApplicationError(
            _("This dataset version is %(state)s; a training run needs a completed one.")
            % {"state": version.state},
            field=FIELD,
            code="not_ready",
        )
    entries = {
        entry["split"]: entry
        for entry in version.files
        if entry["format"] == recipe.dataset_format and entry["split"] in storage.SPLIT_NAMES
    }
    if "train" not in entries:
        asked = ", ".join((version.recipe or {}).get("formats") or []) or "-"
        raise ApplicationError(
            _(
                "The %(recipe)s recipe trains on %(format)s files with a train split; this dataset version "
                "has none (its formats: %(formats)s). Build a version with the %(format)s format and a "
                "train split."
            )
            % {"recipe": recipe.name, "format": recipe.dataset_format, "formats": asked},
            field=FIELD,
            code="wrong_shape",
        )
    if not entries["train"]["bytes"]:
        raise ApplicationError(
            _("The train split of this version's %(format)s file has no rows.")
            % {"format": recipe.dataset_format},
            field=FIELD,
            code="empty",
        )
    files: dict[str, Path] = {}
    for split in storage.SPLIT_NAMES:
        entry = entries.get(split)
        if entry is None or (split != "train" and not entry["bytes"]):
            continue
        path = storage.resolve(entry["path"])
        if not path.is_file():
            raise ApplicationError(
                _("This dataset version's files are gone from storage; build it again."),
                field=FIELD,
                code="files_missing",
            )
        files[split] = path
    return version, files
