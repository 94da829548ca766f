"""Dataset versions: a saved recipe and what its build wrote (exports/datasets/)."""

from functools import partial

from django.conf import settings
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from annotation.models import JobState
from exports.datasets import storage


class DatasetVersion(models.Model):
    """A recipe and its output, built by a worker (exports.tasks.dataset_build_run) under a lease in this
    row, as import jobs are. Once completed, nothing changes it but its deletion (which removes its files).
    """

    organization = models.ForeignKey(
        "tessera.Organization", on_delete=models.CASCADE, related_name="dataset_versions"
    )
    project = models.ForeignKey(
        "annotation.Project", on_delete=models.CASCADE, related_name="dataset_versions"
    )
    name = models.CharField(max_length=200)
    recipe = models.JSONField(help_text="The recipe as checked and normalised (exports/datasets/recipes.py).")
    # Label Studio's snapshot API (POST /api/projects/{id}/exports/) makes versions too; its list shows those.
    snapshot = models.BooleanField(default=False, help_text="Made through Label Studio's snapshot API.")
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The project's previous version when this one was made: the card's diff is against it.",
    )
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.CREATED, db_index=True)
    progress_done = models.BigIntegerField(default=0, help_text="Items read so far.")
    progress_total = models.BigIntegerField(default=0, help_text="Tasks the recipe selects.")
    counts = models.JSONField(
        default=dict, help_text='{"total", "splits": {split: n}, "labels": {split: {label: n}}}.'
    )
    steps = models.JSONField(default=list, help_text="Each curation step's report, in order.")
    files = models.JSONField(
        default=list, help_text='[{"format", "split", "bytes", "sha256", "path"}], path relative to storage.'
    )
    manifest_sha256 = models.CharField(max_length=64, blank=True, default="")
    error = models.JSONField(null=True, blank=True, help_text='{"code", "message", "field"} when failed.')
    attempts = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["project", "-id"], name="dataset_version_project")]


@receiver(post_delete, sender=DatasetVersion)
def _files_gone_with_row(sender: type[DatasetVersion], instance: DatasetVersion, **kwargs: object) -> None:
    # A receiver rather than the service: a project's deletion cascades to its versions without passing
    # through dataset_version_delete, and their files must go too. After the commit, so that a rolled
    # back deletion keeps its files. (Connected here, where the model is defined, so every process has it.)
    transaction.on_commit(
        partial(storage.version_files_delete, project_id=instance.project_id, version_id=instance.pk)
    )
