"""Projects, tasks, annotations, drafts, predictions, task locks, import jobs, reviews and comments."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Sampling(models.TextChoices):
    SEQUENTIAL = "Sequential sampling", "Sequential"
    UNIFORM = "Uniform sampling", "Random"
    # Active learning: the latest model version's least certain tasks first (Task.uncertainty).
    UNCERTAINTY = "Uncertainty sampling", "Uncertain first"


class TaskState(models.TextChoices):
    """A task's place in the labeling and review flow (annotation/services/states.py moves it)."""

    UNLABELED = "unlabeled", "Unlabeled"
    IN_PROGRESS = "in_progress", "In progress"
    LABELED = "labeled", "Labeled"
    IN_REVIEW = "in_review", "In review"
    DONE = "done", "Done"


class ReviewState(models.TextChoices):
    """An annotation's review: submitted, then accepted, rejected, or fixed by a reviewer."""

    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    FIXED = "fixed", "Fixed"


class ReviewPolicy(models.TextChoices):
    """Which labeled tasks go to review."""

    ALL = "all", "All tasks"
    SAMPLE = "sample", "A sampled percentage"
    LOW_AGREEMENT = "low_agreement", "Tasks whose agreement is under a threshold"


class Verdict(models.TextChoices):
    ACCEPT = "accept", "Accept"
    REJECT = "reject", "Reject"
    FIX = "fix", "Fix"


class Project(models.Model):
    organization = models.ForeignKey(
        "tessera.Organization", on_delete=models.CASCADE, related_name="projects"
    )
    title = models.CharField(max_length=250)
    description = models.TextField(blank=True, default="")
    label_config = models.TextField(help_text="Label Studio XML label config.")
    parsed_label_config = models.JSONField(
        default=dict, help_text="Controls and objects read from the config."
    )
    data_variables = models.JSONField(default=list, help_text="Task data keys the config reads.")
    expert_instruction = models.TextField(blank=True, default="", help_text="Instructions for annotators.")
    show_instruction = models.BooleanField(default=False)
    show_skip_button = models.BooleanField(default=True)
    enable_empty_annotation = models.BooleanField(default=True)
    maximum_annotations = models.PositiveIntegerField(
        default=1, help_text="Overlap: how many annotators label each task."
    )
    sampling = models.CharField(max_length=32, choices=Sampling.choices, default=Sampling.SEQUENTIAL)
    color = models.CharField(max_length=16, blank=True, default="#FFFFFF")
    members_only = models.BooleanField(
        default=False,
        help_text="Only the project's members (ProjectMember) may label or review it; managers and "
        "above always may.",
    )
    review_policy = models.CharField(
        max_length=16,
        choices=ReviewPolicy.choices,
        default=ReviewPolicy.ALL,
        help_text="Which labeled tasks go to review.",
    )
    review_sample_percent = models.PositiveSmallIntegerField(
        default=20, help_text="With the sample policy: the percentage of labeled tasks reviewed (0-100)."
    )
    review_agreement_threshold = models.FloatField(
        default=0.7,
        help_text="With the low_agreement policy: tasks whose agreement is under this go to review.",
    )
    show_annotations_after_submit = models.BooleanField(
        default=False,
        help_text="Annotators see other annotators' results on a task once they have submitted theirs.",
    )
    gold_ratio = models.FloatField(
        default=0.0, help_text="Share of gold (ground truth) tasks mixed into annotators' queues (0-1)."
    )
    gold_score_floor = models.FloatField(
        null=True, blank=True, help_text="An annotator whose gold score falls below this is flagged (0-1)."
    )
    gold_floor_pauses_queue = models.BooleanField(
        default=False, help_text="A flagged annotator gets no more tasks until a manager resumes them."
    )
    prelabel_refit_every = models.PositiveIntegerField(
        default=50,
        help_text="A learning pre-labeler refits after this many new labels (0: only when asked).",
    )
    comments_block_acceptance = models.BooleanField(
        default=False, help_text="A task with an open comment thread cannot be accepted in review."
    )
    # The last task inner_id handed out; imports take the next range under a row lock.
    task_counter = models.BigIntegerField(default=0)
    # Kept by the services (annotation/services/counters.py), so that paging a million tasks
    # needs no COUNT(*) or SUM over them.
    task_count = models.BigIntegerField(default=0)
    annotation_total = models.BigIntegerField(default=0, help_text="Submitted (not skipped) annotations.")
    prediction_total = models.BigIntegerField(default=0)
    labeled_task_count = models.BigIntegerField(
        default=0, help_text="Tasks with as many submitted annotations as the overlap asks (is_labeled)."
    )
    annotated_task_count = models.BigIntegerField(default=0, help_text="Tasks with a submitted annotation.")
    # Tasks per state (unlabeled ones are the rest of task_count) and submitted answers waiting for a
    # reviewer on tasks in review: the review backlog, kept like the totals above
    # (annotation/services/activity_totals.py).
    tasks_in_progress = models.BigIntegerField(default=0, db_default=0)
    tasks_labeled = models.BigIntegerField(default=0, db_default=0)
    tasks_in_review = models.BigIntegerField(default=0, db_default=0)
    tasks_done = models.BigIntegerField(default=0, db_default=0)
    answers_to_review = models.BigIntegerField(default=0, db_default=0)
    # Raised whenever tasks are deleted or an import commits, the only changes that move a task's
    # position; cached page boundaries are keyed by it.
    task_layout_version = models.BigIntegerField(default=0)
    # Full-text search (TaskSearchText, PostgreSQL): every task of the project with an id up to this
    # one has its search row; the data table's text filter scans the tasks above it directly.
    search_indexed_through_id = models.BigIntegerField(
        default=0, db_default=0, help_text="Tasks with ids up to this one have their search text indexed."
    )
    # The task_layout_version that the last complete indexing run started from: the sweep indexes
    # projects whose layout moved since (an import committed, whatever became of its message).
    search_indexed_layout_version = models.BigIntegerField(default=0, db_default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "-id"], name="project_org_recent")]

    def __str__(self) -> str:
        return self.title


class ProjectMember(models.Model):
    """Who may label or review a project that restricts membership (``Project.members_only``)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Not a field: annotation.selectors.project_members sets the member's organization role here.
    org_role: str

    class Meta:
        # Also the index of /next's one membership check: (project_id, user_id).
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="project_member_unique_user")]


class Task(models.Model):
    # No index of its own: task_unique_inner_id (project, inner_id) serves every lookup by project, and
    # each index costs every imported task a write.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks", db_index=False)
    data = models.JSONField(help_text="The task's data, read by the label config's $variables.")
    meta = models.JSONField(default=dict, blank=True)
    inner_id = models.BigIntegerField(help_text="Position of the task within its project, from 1.")
    is_labeled = models.BooleanField(default=False, help_text="Has as many annotations as the overlap asks.")
    total_annotations = models.PositiveIntegerField(default=0)
    cancelled_annotations = models.PositiveIntegerField(default=0)
    total_predictions = models.PositiveIntegerField(default=0)
    labels = models.JSONField(
        default=dict,
        blank=True,
        help_text='Labels and choices in the submitted annotations, per control: {"<control>": ["<label>"]}.',
    )
    # db_default as well: imports write tasks with COPY and name their columns.
    state = models.CharField(
        max_length=16, choices=TaskState.choices, default=TaskState.UNLABELED, db_default=TaskState.UNLABELED
    )
    is_gold = models.BooleanField(
        default=False, db_default=False, help_text="Has a ground_truth annotation: a gold (honeypot) task."
    )
    uncertainty = models.FloatField(
        null=True,
        blank=True,
        help_text="How unsure the latest model version is of this task (higher first with uncertainty sampling).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Not fields: a read that loads the task's children in order sets these (a Prefetch's to_attr, or
    # selectors.task_with_children), and the task's output includes them only when they are set.
    annotation_list: list["Annotation"]
    prediction_list: list["Prediction"]
    # Set by /next (annotation.services.queue.next_task): the caller's draft of the task, 0 or 1.
    draft_list: list["Draft"]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "inner_id"], name="task_unique_inner_id")]
        indexes = [
            # The labeling queue walks unlabeled tasks of a project in order.
            models.Index(
                fields=["project", "inner_id"], name="task_queue_unlabeled", condition=Q(is_labeled=False)
            ),
            # The data table's pages sorted by annotation count (either direction, id breaking ties).
            # PostgreSQL also has a GIN index made by migration 0009 (not declarable on SQLite):
            # task_labels_gin on labels (jsonb_path_ops). Full-text search has its own table,
            # TaskSearchText (migration 0012 moved the trigram index there, off the import's path).
            models.Index(fields=["project", "total_annotations", "id"], name="task_project_annotations"),
            # Review backlog and dashboards count and walk tasks by state.
            models.Index(fields=["project", "state", "inner_id"], name="task_project_state"),
            # Gold tasks mixed into the queue.
            models.Index(fields=["project", "inner_id"], name="task_project_gold", condition=Q(is_gold=True)),
            # Uncertainty sampling: /next takes the least certain unlabeled task off this index's first
            # rows (annotation/services/queue.py _UNCERTAIN_CANDIDATE_SQL), never sorting the project.
            # Unscored tasks (NULL) come last: SQLite's DESC puts them there; on PostgreSQL migration
            # 0016 builds it as "uncertainty" DESC NULLS LAST (SQLite refuses NULLS LAST in an index).
            models.Index(
                F("project"),
                F("uncertainty").desc(),
                F("inner_id"),
                name="task_queue_uncertain",
                condition=Q(is_labeled=False),
            ),
        ]


# db_constraint=False on a project key: the project of an annotation, prediction or quality row is
# its task's, written by the services with the task (denormalised for per-project reads). The task's
# foreign key, and the task's own to its project, already make the database refuse a row whose project
# does not exist, so these keep no constraint of their own: that check cost every imported or
# recomputed row a lookup at commit and guarded nothing more (it never tied the project to the
# task's). Deletes go through the services (annotation/services/projects.py deletes a project's rows
# table by table). Migration 0018.


class Annotation(models.Model):
    # Neither key has an index of its own: annotation_task_author starts with the task,
    # annotation_project_author and annotation_review_queue with the project.
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="annotations", db_index=False)
    project = models.ForeignKey(
        Project, related_name="annotations", db_index=False, on_delete=models.CASCADE, db_constraint=False
    )
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="annotations"
    )
    result = models.JSONField(default=list)
    was_cancelled = models.BooleanField(default=False, help_text="Skipped by the annotator.")
    skip_reason = models.CharField(
        max_length=500,
        blank=True,
        default="",
        help_text="Why the annotator skipped the task (was_cancelled).",
    )
    ground_truth = models.BooleanField(default=False)
    review_state = models.CharField(
        max_length=16,
        choices=ReviewState.choices,
        default=ReviewState.SUBMITTED,
        db_default=ReviewState.SUBMITTED,
    )
    lead_time = models.FloatField(null=True, blank=True, help_text="Seconds spent labeling.")
    # This key and import_job are indexed only where set (Meta): imports and most submits leave them empty.
    parent_prediction = models.ForeignKey(
        "Prediction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    prediction_changes = models.JSONField(
        null=True,
        blank=True,
        help_text='Against parent_prediction: {"accepted", "kept", "removed", "added"} region counts.',
    )
    import_job = models.ForeignKey(
        "ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["task", "completed_by"], name="annotation_task_author"),
            # Deleting a prediction or an import job finds the annotations that point at it (SET_NULL).
            models.Index(
                fields=["parent_prediction"],
                condition=Q(parent_prediction__isnull=False),
                name="annotation_parent_prediction",
            ),
            models.Index(
                fields=["import_job"], condition=Q(import_job__isnull=False), name="annotation_import_job"
            ),
            models.Index(fields=["project", "completed_by", "-created_at"], name="annotation_project_author"),
            # The review queue walks a project's annotations waiting for a verdict.
            models.Index(fields=["project", "review_state", "id"], name="annotation_review_queue"),
        ]


class Draft(models.Model):
    """Work in progress, kept apart from submitted annotations."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="drafts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    annotation = models.ForeignKey(
        Annotation, null=True, blank=True, on_delete=models.CASCADE, related_name="drafts"
    )
    result = models.JSONField(default=list)
    lead_time = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["task", "user"], name="draft_task_user")]


class Prediction(models.Model):
    # prediction_task_best starts with the task: no index of its own.
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="predictions", db_index=False)
    project = models.ForeignKey(
        Project, related_name="predictions", on_delete=models.CASCADE, db_constraint=False
    )
    model_version = models.CharField(max_length=200, blank=True, default="")
    result = models.JSONField(default=list)
    score = models.FloatField(null=True, blank=True)
    # A prediction comes from an import or from a pre-labeler, never both: each key is indexed where set (Meta).
    import_job = models.ForeignKey(
        "ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    prelabeler = models.ForeignKey(
        "training.Prelabeler",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="predictions",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["task", "-score"], name="prediction_task_best"),
            models.Index(
                fields=["import_job"], condition=Q(import_job__isnull=False), name="prediction_import_job"
            ),
            models.Index(
                fields=["prelabeler"], condition=Q(prelabeler__isnull=False), name="prediction_prelabeler"
            ),
        ]
        constraints = [
            # A pre-labeling job re-run (a retry after a crash) writes no second prediction.
            models.UniqueConstraint(
                fields=["task", "prelabeler", "model_version"],
                condition=Q(prelabeler__isnull=False),
                name="prediction_unique_model_version",
            )
        ]


class TaskLock(models.Model):
    """A task held by one annotator from /next until they submit, skip or the lock expires."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="locks")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "user"], name="task_lock_unique_user")]
        indexes = [models.Index(fields=["user", "expires_at"], name="task_lock_user")]


class JobState(models.TextChoices):
    CREATED = "created", "Created"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ImportJob(models.Model):
    """A background import: the uploaded file waits under the data directory until a worker claims the row."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.CREATED, db_index=True)
    file_name = models.CharField(max_length=255, help_text="Stored upload, relative to the import directory.")
    original_name = models.CharField(max_length=255, blank=True, default="")
    file_format = models.CharField(max_length=8)
    column_map = models.JSONField(
        null=True, blank=True, help_text="File column -> task data key, applied as the upload is read."
    )
    size_bytes = models.BigIntegerField(default=0)
    rows_done = models.BigIntegerField(default=0, help_text="Rows parsed and checked so far.")
    first_inner_id = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="inner_id of the first task written; its tasks are the next task_count.",
    )
    task_count = models.BigIntegerField(default=0)
    annotation_count = models.BigIntegerField(default=0)
    prediction_count = models.BigIntegerField(default=0)
    error = models.JSONField(null=True, blank=True, help_text='{"code", "message", "field"} when failed.')
    attempts = models.PositiveIntegerField(default=0)
    # The lease: a worker owns an in_progress job while lease_expires_at is ahead, and renews it
    # (heartbeat) as it works; a job whose lease ran out is re-queued or failed by the reaper.
    lease_owner = models.CharField(
        max_length=200, blank=True, default="", help_text="Host, process and claim of the worker running it."
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time its worker said it was alive."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class Review(models.Model):
    """A reviewer's verdict on an annotation. A fix keeps the annotation's original result and holds
    the correction here (``result``)."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="reviews")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    comment = models.TextField(blank=True, default="")
    result = models.JSONField(null=True, blank=True, help_text="The corrected result, for a fix.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["annotation", "-created_at"], name="review_annotation_recent"),
            models.Index(fields=["project", "-created_at"], name="review_project_recent"),
        ]


class ReviewLock(models.Model):
    """An annotation held by one reviewer from review/next until they give a verdict or the lock expires."""

    annotation = models.OneToOneField(Annotation, on_delete=models.CASCADE, related_name="review_lock")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["reviewer", "expires_at"], name="review_lock_reviewer")]


class Comment(models.Model):
    """A comment on a task; a comment without a parent opens a thread, replies name it as parent."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="comments")
    annotation = models.ForeignKey(
        Annotation, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    mentions = models.JSONField(default=list, blank=True, help_text="Ids of the members mentioned (@email).")
    is_resolved = models.BooleanField(default=False, help_text="For a thread: resolved.")
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["task", "created_at"], name="comment_task_recent"),
            models.Index(
                fields=["project", "task"],
                name="comment_open_threads",
                condition=Q(parent=None, is_resolved=False),
            ),
        ]


# ---- Gold scores (annotation/services/gold.py) ----------------------------------------------------


class GoldScore(models.Model):
    """An annotator's running score on gold tasks for one control: ``n`` answers scored and the ``total``
    of their values (accuracy, span F1 or absolute error, see annotation/quality/gold.py); the mean is
    total / n. Kept in the transaction of every write that moves it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="gold_scores")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    control = models.CharField(max_length=200)
    metric = models.CharField(max_length=16)
    n = models.IntegerField(default=0)
    total = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user", "control"], name="gold_score_unique_control")
        ]


class AnnotatorGold(models.Model):
    """Per project and annotator: the pace of gold tasks in their queue, their gold answers, and whether
    the project's gold floor flagged or paused them."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotator_gold")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    answers = models.BigIntegerField(
        default=0, help_text="Answers given while the project mixed gold tasks in (the queue's pace)."
    )
    gold_answers = models.BigIntegerField(default=0, help_text="Gold tasks answered and scored.")
    gold_answers_at_resume = models.BigIntegerField(
        default=0, help_text="gold_answers when a manager last resumed them: a new pause needs more answers."
    )
    flagged = models.BooleanField(default=False, help_text="Gold score below the project's floor.")
    paused = models.BooleanField(default=False, help_text="/next refuses them until a manager resumes them.")
    flagged_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="annotator_gold_unique_user")]


# --- Agreement and consensus (kept by annotation/services/quality.py) ----------------------------------


class TaskQuality(models.Model):
    """A task's agreement, consensus and its contribution to the project's agreement statistics.

    Exists while the task has two or more submitted annotations. ``stats`` holds, per control, the
    task's additive share of the project's statistics (``ProjectQualityShard``;
    annotation/quality/agreement.py), so that a change to one task subtracts its old share and adds its
    new one instead of recomputing the project.
    """

    task = models.OneToOneField(Task, on_delete=models.CASCADE, primary_key=True, related_name="quality")
    # Indexed by task_quality_project (project, task).
    project = models.ForeignKey(
        Project, related_name="+", db_index=False, on_delete=models.CASCADE, db_constraint=False
    )
    agreement = models.FloatField(
        null=True, blank=True, help_text="Mean over controls of the share of annotator pairs agreeing (0-1)."
    )
    controls = models.JSONField(default=dict, help_text='Per control: {"<control>": agreement or null}.')
    consensus = models.JSONField(
        null=True, blank=True, help_text="The consensus result (regions) once the overlap is reached."
    )
    tie = models.BooleanField(default=False, help_text="A control's vote is tied: the task goes to review.")
    annotations = models.PositiveIntegerField(default=0, help_text="Submitted annotations counted.")
    # JSON as text: never queried inside the database, and text costs PostgreSQL far less to write
    # than jsonb (a full recompute writes one of these per task).
    stats = models.TextField(
        default="{}", help_text="Per control: this task's share of the project's statistics, as JSON text."
    )
    best_annotation = models.ForeignKey(
        Annotation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="For free text: the annotation a reviewer marked best, taken as the consensus.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["project", "task"], name="task_quality_project")]


class AnnotatorDay(models.Model):
    """One member's work in a project on one day (the server's time zone): the running totals the
    dashboard reads instead of grouping every answer (annotation/services/activity_totals.py keeps
    them in the transactions that change answers and reviews)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    # The answer's author or the review's reviewer; 0 for answers without an author. A plain column,
    # not a key: the totals stay with the day when an account goes.
    user_id = models.BigIntegerField()
    day = models.DateField()
    submitted = models.IntegerField(default=0, help_text="Answers (not skips) created this day.")
    skipped = models.IntegerField(default=0)
    accepted = models.IntegerField(default=0, help_text="Of the answers, those a reviewer accepted.")
    rejected = models.IntegerField(default=0)
    fixed = models.IntegerField(default=0)
    from_prediction = models.IntegerField(default=0, help_text="Answers begun from a prediction.")
    unchanged = models.IntegerField(
        default=0, help_text="Of those, answers that kept the prediction as it was."
    )
    reviews = models.IntegerField(default=0, help_text="Verdicts this member gave this day.")
    reviews_accepted = models.IntegerField(default=0)
    lead_times = models.JSONField(
        default=dict, help_text="Answers per lead time in seconds, to three significant figures."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user_id", "day"], name="annotator_day_key"),
        ]


class ProjectQualityShard(models.Model):
    """A part of the project's agreement statistics; the project's figures are the sum of its shards.

    Each write adds its delta to one shard (a task's own: ``task_id % TESSERA_QUALITY_SHARDS``) under
    that shard's row lock, so concurrent submits on different tasks of a project rarely wait for each
    other. A shard is a part of the sum, not the share of a fixed set of tasks: a full recompute writes
    the whole sum into shard 0 and empties the others, after which a shard may hold negative counts."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="quality_shards")
    shard = models.PositiveSmallIntegerField()
    stats = models.JSONField(default=dict)
    tasks = models.BigIntegerField(default=0, help_text="Tasks with two or more submitted annotations.")
    annotations = models.BigIntegerField(default=0, help_text="Submitted annotations on those tasks.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "shard"], name="project_quality_shard_unique")
        ]


# ---- Full-text search -------------------------------------------------------------------------


class TaskSearchText(models.Model):
    """A task's searchable text (its data as text), with the pg_trgm GIN index ``task_search_text_trgm``
    (PostgreSQL). Kept out of the task table so that an import pays nothing for the trigram index:
    rows are written after the import commits, by a job (annotation/services/search_index.py), and
    rewritten by a task edit. Tasks above ``Project.search_indexed_through_id`` may have no row yet;
    the data table scans those directly, so results never depend on the job having run."""

    task = models.OneToOneField(Task, on_delete=models.CASCADE, primary_key=True, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(help_text="The task's data as PostgreSQL writes jsonb as text.")
