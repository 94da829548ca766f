"""Pre-labelers (a model backend configured for one project) and their pre-labeling jobs."""

from django.conf import settings as django_settings
from django.db import models

from annotation.models import JobState


class PrelabelBackend(models.TextChoices):
    """The backends in training/prelabelers/ (training.prelabelers.registry maps each to its class)."""

    EMBEDDING_CLASSIFIER = "embedding_classifier", "Embedding classifier"
    ZERO_SHOT = "zero_shot", "Zero-shot by label description"
    SPAN_RULES = "span_rules", "Span rules (dictionaries and regular expressions)"
    REGISTRY_MODEL = "registry_model", "A model from Tessera's registry"
    ML_BACKEND = "ml_backend", "Label Studio ML backend"
    OPENAI_CHAT = "openai_chat", "OpenAI-compatible chat endpoint"


class Prelabeler(models.Model):
    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="prelabelers")
    title = models.CharField(max_length=250)
    backend = models.CharField(max_length=32, choices=PrelabelBackend.choices)
    settings = models.JSONField(default=dict, blank=True, help_text="The backend's settings, checked.")
    run_on_import = models.BooleanField(
        default=False, help_text="Pre-label every task a later import adds, as a job after the import."
    )
    is_active = models.BooleanField(default=True)
    # A learning backend's latest fit; other backends keep their declared version here.
    model_version = models.CharField(max_length=200, blank=True, default="")
    fitted_at = models.DateTimeField(null=True, blank=True)
    fitted_examples = models.PositiveIntegerField(
        default=0, help_text="Labeled examples the latest fit learned from."
    )
    fit_info = models.JSONField(
        null=True, blank=True, help_text="What the latest fit reports: classes, held-out figures."
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["project", "id"], name="prelabeler_project")]

    def __str__(self) -> str:
        return self.title


class PrelabelJob(models.Model):
    """A run of a pre-labeler over a set of tasks, in id order; the worker owns it through a lease."""

    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="prelabel_jobs")
    prelabeler = models.ForeignKey(Prelabeler, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.CREATED, db_index=True)
    scope = models.JSONField(
        default=dict, help_text='The tasks asked for: {"tasks": "unlabeled" | "all" | {"filter": …} | [ids]}.'
    )
    model_version = models.CharField(max_length=200, blank=True, default="")
    total = models.BigIntegerField(default=0, help_text="Tasks in scope when the job started.")
    tasks_done = models.BigIntegerField(default=0)
    predictions_written = models.BigIntegerField(default=0)
    skipped = models.BigIntegerField(
        default=0, help_text="Tasks that already had this model version's prediction."
    )
    dropped = models.BigIntegerField(default=0, help_text="Answers that did not fit the label config.")
    errors = models.BigIntegerField(default=0, help_text="Failed tries of a batch.")
    error = models.JSONField(null=True, blank=True, help_text='{"code", "message", "field"} when failed.')
    # Resuming after a crash: every task with an id up to this one is done.
    last_task_id = models.BigIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["project", "-id"], name="prelabel_job_project")]


class ModelKind(models.TextChoices):
    """What a base model's architecture is for; a recipe names the kinds it trains."""

    ENCODER = "encoder", "Encoder (BERT-like)"
    CAUSAL_LM = "causal_lm", "Causal language model (decoder)"


class BaseModel(models.Model):
    """A local Hugging Face model folder an admin registered for the organization's training runs.

    The folder was checked when registered (training/model_folders.py): inside an allowed root, a supported
    architecture, safetensors weights only. Nothing is downloaded: runs read the folder as it is.
    """

    organization = models.ForeignKey("tessera.Organization", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200, help_text="Unique in the organization, e.g. all-MiniLM-L6-v2.")
    path = models.CharField(max_length=1000, help_text="The model folder, resolved (no symlink left in it).")
    model_type = models.CharField(max_length=64, help_text="config.json's model_type: bert, llama, …")
    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    parameters = models.BigIntegerField(help_text="Parameters of the bare model, counted from its config.")
    config = models.JSONField(default=dict, help_text="The folder's config.json when it was registered.")
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="base_model_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
