"""Pre-labelers and their pre-labeling jobs; base models, training jobs and the model registry."""

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


class TrainingJob(models.Model):
    """A training run of a recipe on a dataset version, launched by a manager; a worker on the ``gpu`` queue
    owns it through the lease in this row (not through the broker: a run lasting hours must not be
    redelivered and run twice) and starts the runner as a subprocess in ``run_dir``.

    ``state`` takes the import jobs' values: created (queued), in_progress (running), completed
    (succeeded), failed, cancelled.
    """

    organization = models.ForeignKey("tessera.Organization", on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="training_jobs")
    dataset = models.ForeignKey(
        "exports.DatasetVersion",
        null=True,
        on_delete=models.SET_NULL,
        related_name="training_jobs",
        help_text="The dataset version trained on (null once deleted; its manifest digest stays).",
    )
    dataset_manifest_sha256 = models.CharField(max_length=64, blank=True, default="")
    recipe = models.CharField(max_length=64)
    base_model = models.ForeignKey(
        BaseModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_jobs"
    )
    base_model_path = models.CharField(
        max_length=1000, blank=True, default="", help_text="The base model's folder when launched."
    )
    params = models.JSONField(default=dict, help_text="The recipe's parameters, checked, defaults filled in.")
    resources = models.JSONField(default=dict, help_text='{"gpus", "gpu_type"}.')
    estimate = models.JSONField(null=True, blank=True, help_text="The estimate made at launch.")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.CREATED, db_index=True)
    step = models.BigIntegerField(default=0, help_text="The run's latest optimizer step.")
    max_steps = models.BigIntegerField(default=0, help_text="Steps the run will take (0 until it starts).")
    epoch = models.FloatField(default=0.0)
    latest_metrics = models.JSONField(default=dict, help_text="The latest value of each metric.")
    error = models.JSONField(null=True, blank=True, help_text='{"code", "message"} when failed.')
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    run_dir = models.CharField(
        max_length=500, blank=True, default="", help_text="The run's folder, relative to the data directory."
    )
    # How far the worker has read the runner's JSON-lines files (bytes), saved with the rows read, so a
    # worker that takes the job over reads on from there and no line is stored twice.
    metrics_offset = models.BigIntegerField(default=0)
    events_offset = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "-id"], name="training_job_project"),
            models.Index(fields=["organization", "-id"], name="training_job_org"),
        ]


class TrainingMetric(models.Model):
    """One line of the runner's metrics.jsonl: the values logged at a step."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="metrics")
    step = models.BigIntegerField()
    time = models.DateTimeField()
    values = models.JSONField(help_text="loss, learning_rate, tokens_per_second, mfu, eval_loss, test_*, …")

    class Meta:
        indexes = [models.Index(fields=["job", "step", "id"], name="training_metric_job_step")]


class TrainingEvent(models.Model):
    """Something that happened to a job: the runner's events.jsonl lines (``source`` runner) and the
    worker's own (claimed, lease lost, resumed elsewhere, cancel, failure reasons; ``source`` worker)."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="events")
    time = models.DateTimeField()
    source = models.CharField(max_length=16, default="worker")
    kind = models.CharField(max_length=64)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["job", "id"], name="training_event_job")]


class ModelVersion(models.Model):
    """A trained model in the registry: what a successful job produced. Its artifact (safetensors and the
    tokenizer) is a registry folder, ``DATA_DIR/models/registry/<name>/<version>/``, which the
    ``registry_model`` pre-labeler reads once the version is promoted."""

    organization = models.ForeignKey("tessera.Organization", on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="model_versions")
    job = models.OneToOneField(
        TrainingJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_version"
    )
    name = models.CharField(
        max_length=100, help_text="The registry name, e.g. project-12-text_classification."
    )
    version = models.CharField(max_length=60, help_text="v1, v2, … per name.")
    recipe = models.CharField(max_length=64)
    task_kind = models.CharField(
        max_length=32,
        help_text="sequence_classification, token_classification, causal_lm or masked_lm.",
    )
    base_model = models.ForeignKey(
        BaseModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_versions"
    )
    base_model_name = models.CharField(max_length=200, blank=True, default="")
    params = models.JSONField(default=dict)
    dataset = models.ForeignKey(
        "exports.DatasetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dataset_manifest_sha256 = models.CharField(max_length=64, blank=True, default="")
    metrics = models.JSONField(default=dict, help_text="The evaluation on the test split (eval.json).")
    files = models.JSONField(default=list, help_text='[{"path", "bytes", "sha256"}] of the artifact.')
    lineage = models.JSONField(
        default=dict, help_text="Dataset version, its recipe and manifest, the annotations it came from."
    )
    evaluation_project = models.ForeignKey(
        "annotation.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name", "version"], name="model_version_unique_version"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "-id"], name="model_version_org"),
            models.Index(fields=["project", "-id"], name="model_version_project"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"
