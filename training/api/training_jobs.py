"""Training jobs: ``POST /api/training-jobs/`` (launch), ``GET /api/training-jobs/?project=``, ``GET
/api/training-jobs/{id}/`` (with its latest events), ``…/metrics/?after=`` (the series), ``…/logs`` (the
runner's output, a text download), ``POST …/cancel``, and ``POST /api/training-jobs/estimate``, what a
launch would cost, with the body a launch takes; with ``dataset`` (a dataset version) and no tokens, the
version's train split gives the tokens.

Managers and above launch, cancel and estimate; every member of the organization reads jobs (their
project's visibility applies to the ``project`` filter). Another organization's job is a 404; another
organization's dataset version or base model in a launch body is a 400 naming its field, as no such
object exists for the caller.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import FileResponse
from django.urls import re_path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors as annotation_selectors
from annotation.api.schemas import errors
from annotation.models import JobState
from tessera import validation
from tessera.api.base import json_object, page_params
from tessera.api.output import time_out
from tessera.errors import NotFound
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest
from training import selectors
from training.api.recipe_schemas import estimate_bodies
from training.models import TrainingEvent, TrainingJob, TrainingMetric
from training.services.estimates import training_estimate
from training.services.training_jobs import training_job_cancel, training_job_launch

EstimateIn = PolymorphicProxySerializer(
    component_name="TrainingEstimateIn",
    serializers=estimate_bodies,  # type: ignore[arg-type]  # a cached function, called the same way
    resource_type_field_name="recipe",
)


class EstimateMemoryOut(serializers.Serializer):
    """Per device, each part and the total."""

    weights_bytes = serializers.IntegerField(
        help_text="Sharded: the device's share plus two layers gathered whole."
    )
    gradients_bytes = serializers.IntegerField()
    optimizer_bytes = serializers.IntegerField(help_text="AdamW: fp32 master weights and two moments.")
    activations_bytes = serializers.IntegerField()
    total_bytes = serializers.IntegerField(
        help_text="Per device (ddp: each holds the whole model; fsdp: its share of the states)."
    )
    device_bytes = serializers.IntegerField(allow_null=True)
    fits = serializers.BooleanField(allow_null=True)
    sharded_over = serializers.IntegerField(
        required=False, help_text="Devices the states are sharded over: the GPUs under fsdp, else 1."
    )


class EstimateDatasetTokensOut(serializers.Serializer):
    dataset = serializers.IntegerField()
    rows = serializers.IntegerField(help_text="Rows of the train split.")
    sampled_rows = serializers.IntegerField(help_text="Rows tokenized; their mean is extrapolated to all.")
    exact = serializers.BooleanField(help_text="Every row was tokenized.")
    mean_tokens_per_row = serializers.FloatField(help_text="Cut at max_length where the run cuts rows.")
    tokens_per_epoch = serializers.IntegerField()
    counted_by = serializers.ChoiceField(
        choices=["tokenizer", "bytes_per_token"],
        help_text="The base model's tokenizer, or UTF-8 bytes / 4 from scratch (no tokenizer before the run).",
    )


class EstimateOut(serializers.Serializer):
    recipe = serializers.CharField()
    base_model = serializers.IntegerField(allow_null=True)
    params = serializers.DictField(help_text="The parameters, defaults filled in.")
    parameters = serializers.IntegerField()
    trainable_parameters = serializers.IntegerField()
    tokens_per_epoch = serializers.IntegerField()
    epochs = serializers.FloatField()
    training_tokens = serializers.IntegerField()
    flops = serializers.FloatField(help_text="≈ 6 · parameters · training tokens.")
    device = serializers.CharField()
    devices = serializers.IntegerField()
    utilisation = serializers.FloatField()
    peak_flops_per_device = serializers.FloatField()
    gpu_hours = serializers.FloatField(help_text="Device-hours, all devices together.")
    wall_hours = serializers.FloatField()
    memory = EstimateMemoryOut()
    tokens_per_parameter = serializers.FloatField()
    scaling_note = serializers.CharField(allow_null=True, help_text="Set when far from Chinchilla's ≈20.")
    dataset_tokens = EstimateDatasetTokensOut(
        allow_null=True,
        help_text="How a dataset version's tokens were counted; null when the body gave them.",
    )


class TrainingEstimateView(APIView):
    @extend_schema(
        request=EstimateIn,
        responses={200: EstimateOut, **errors(400, 403)},
        summary="What a training run would cost: parameters, tokens, FLOPs, GPU-hours, memory (managers+)",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        membership = require_role(request, Role.MANAGER, action="estimate training runs")
        result = training_estimate(membership=membership, body=json_object(request))
        launch = result.launch
        return Response(
            {
                "recipe": launch.recipe.name,
                "base_model": None if launch.base_model is None else launch.base_model.pk,
                "params": launch.recipe_params_dict(),
                **result.estimate.as_dict(),
                "dataset_tokens": None if result.dataset_tokens is None else result.dataset_tokens.as_dict(),
            }
        )


# ---- jobs --------------------------------------------------------------------------------------------------


class TrainingJobIn(serializers.Serializer):
    dataset = serializers.IntegerField(help_text="A completed dataset version with the recipe's format.")
    recipe = serializers.ChoiceField(
        choices=[
            "text_classification",
            "token_classification",
            "sft",
            "dpo",
            "continued_pretraining",
            "pretraining_from_scratch",
        ]  # fmt: skip
    )
    base_model = serializers.IntegerField(allow_null=True, required=False)
    params = serializers.DictField(
        required=False, help_text="The recipe's parameters (see the estimate body)."
    )
    resources = serializers.DictField(
        required=False, help_text='{"gpus": 1, "gpu_type": "H100", "strategy": "ddp"}'
    )
    name = serializers.CharField(required=False, max_length=200)


class TrainingUserOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)


class TrainingErrorOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class TrainingModelVersionRefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.CharField()


class TrainingEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    time = serializers.DateTimeField()
    # A declared field, popped from the class by the serializer's metaclass: Field.source is untouched.
    source = serializers.CharField(help_text="runner (its events.jsonl) or worker.")  # type: ignore[assignment]
    kind = serializers.CharField()
    details = serializers.DictField()


class TrainingJobSummaryOut(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    dataset = serializers.IntegerField(allow_null=True)
    dataset_name = serializers.CharField(allow_null=True)
    recipe = serializers.CharField()
    base_model = serializers.IntegerField(allow_null=True)
    base_model_name = serializers.CharField(allow_null=True)
    params = serializers.DictField()
    resources = serializers.DictField()
    status = serializers.ChoiceField(choices=JobState.values)
    state = serializers.CharField(help_text="The same value as status.")
    step = serializers.IntegerField()
    max_steps = serializers.IntegerField()
    epoch = serializers.FloatField()
    progress = serializers.FloatField(help_text="0 to 1: step over max_steps.")
    latest_metrics = serializers.DictField()
    error = TrainingErrorOut(allow_null=True)
    estimate = serializers.DictField(allow_null=True)
    attempts = serializers.IntegerField()
    cancel_requested = serializers.BooleanField()
    model_version = TrainingModelVersionRefOut(allow_null=True)
    created_by = TrainingUserOut(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class TrainingJobOut(TrainingJobSummaryOut):
    events = TrainingEventOut(many=True, help_text="The latest 50, oldest first.")


class TrainingJobPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.IntegerField(allow_null=True)
    previous = serializers.IntegerField(allow_null=True)
    results = TrainingJobSummaryOut(many=True, help_text="Newest first; without events (see the detail).")


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "step": {"type": "integer"},
            "time": {"type": "string", "format": "date-time"},
        },
        "required": ["id", "step", "time"],
        # The values the runner logged at that step, by name: loss, learning_rate, eval_loss, mfu, …
        "additionalProperties": {},
    }
)
class TrainingMetricField(serializers.DictField):
    pass


class TrainingMetricsOut(serializers.Serializer):
    job = serializers.IntegerField()
    metrics = serializers.ListField(
        child=TrainingMetricField(), help_text="In id order: id, step, time and the values logged then."
    )
    names = serializers.ListField(child=serializers.CharField(), help_text="The value names present.")


def _model_version(job: TrainingJob) -> dict | None:
    try:
        version = job.model_version
    except ObjectDoesNotExist:
        return None
    return {"id": version.pk, "name": version.name, "version": version.version}


def _progress(job: TrainingJob) -> float:
    if job.state == JobState.COMPLETED:
        return 1.0
    if job.max_steps <= 0:
        return 0.0
    return max(0.0, min(1.0, job.step / job.max_steps))


def event_out(event: TrainingEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "time": time_out(event.time),
        "source": event.source,
        "kind": event.kind,
        "details": event.details,
    }


def training_job_out(job: TrainingJob, *, events: list[TrainingEvent] | None = None) -> dict[str, Any]:
    user = job.created_by
    body: dict[str, Any] = {
        "id": job.pk,
        "project": job.project_id,
        "dataset": job.dataset_id,
        "dataset_name": None if job.dataset is None else job.dataset.name,
        "recipe": job.recipe,
        "base_model": job.base_model_id,
        "base_model_name": None if job.base_model is None else job.base_model.name,
        "params": job.params,
        "resources": job.resources,
        "status": job.state,
        "state": job.state,
        "step": job.step,
        "max_steps": job.max_steps,
        "epoch": job.epoch,
        "progress": _progress(job),
        "latest_metrics": job.latest_metrics,
        "error": None
        if not job.error
        else {"code": job.error.get("code"), "message": job.error.get("message")},
        "estimate": job.estimate,
        "attempts": job.attempts,
        "cancel_requested": job.cancel_requested,
        "model_version": _model_version(job),
        "created_by": None
        if user is None
        else {"id": user.pk, "email": user.email, "first_name": user.first_name, "last_name": user.last_name},
        "created_at": time_out(job.created_at),
        "started_at": time_out(job.started_at),
        "finished_at": time_out(job.finished_at),
    }
    if events is not None:
        body["events"] = [event_out(event) for event in events]
    return body


def _detail(job: TrainingJob) -> dict[str, Any]:
    return training_job_out(job, events=selectors.training_job_events(job=job))


class TrainingJobsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("project", int, description="Only this project's jobs."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: TrainingJobPageOut, **errors(400, 404)},
        operation_id="training_jobs_list",
        summary="The organization's training jobs, newest first (paged; members)",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        membership = caller_membership(request)
        project = None
        if request.query_params.get("project") not in (None, ""):
            project_id = validation.query_integer(request.query_params["project"], field="project")
            project = annotation_selectors.project_get(membership=membership, project_id=project_id)
        rows = selectors.training_jobs_of(membership=membership, project=project)
        page, page_size = page_params(request, default_size=50)
        total = rows.count()
        return Response(
            {
                "count": total,
                "next": None if page * page_size >= total else page + 1,
                "previous": page - 1 if page > 1 else None,
                "results": [training_job_out(job) for job in rows[(page - 1) * page_size : page * page_size]],
            }
        )

    @extend_schema(
        request=TrainingJobIn,
        responses={201: TrainingJobOut, **errors(400, 403)},
        summary="Launch a training run of a recipe on a dataset version (managers+)",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        membership = require_role(request, Role.MANAGER, action="launch training runs")
        job = training_job_launch(membership=membership, body=json_object(request))
        job = selectors.training_job_get(membership=membership, job_id=job.pk)
        return Response(_detail(job), status=status.HTTP_201_CREATED)


class TrainingJobView(APIView):
    @extend_schema(
        responses={200: TrainingJobOut, **errors(404)},
        summary="A training job: status, progress, latest metrics, events, the model it produced (members)",
    )
    def get(self, request: AuthenticatedRequest, job_id: int) -> Response:
        job = selectors.training_job_get(membership=caller_membership(request), job_id=job_id)
        return Response(_detail(job))


def metric_out(metric: TrainingMetric) -> dict[str, Any]:
    values = metric.values if isinstance(metric.values, dict) else {}
    return {**values, "id": metric.pk, "step": metric.step, "time": time_out(metric.time)}


class TrainingJobMetricsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("after", int, description="Only metric rows with a larger id.")],
        responses={200: TrainingMetricsOut, **errors(400, 404)},
        summary="A training job's metric series (at most 5000 rows a call; ask again after the last id)",
    )
    def get(self, request: AuthenticatedRequest, job_id: int) -> Response:
        job = selectors.training_job_get(membership=caller_membership(request), job_id=job_id)
        raw = request.query_params.get("after")
        after = 0 if raw in (None, "") else validation.query_integer(raw, field="after", low=0)
        metrics = selectors.training_job_metrics(job=job, after=after)
        names = sorted({name for metric in metrics for name in (metric.values or {})})
        return Response({"job": job.pk, "metrics": [metric_out(m) for m in metrics], "names": names})


class TrainingJobLogsView(APIView):
    @extend_schema(
        responses={(200, "text/plain"): OpenApiTypes.BINARY, **errors(404)},
        summary="A training job's log: the runner's stdout and stderr, as a text download (members)",
    )
    def get(self, request: AuthenticatedRequest, job_id: int) -> FileResponse:
        job = selectors.training_job_get(membership=caller_membership(request), job_id=job_id)
        path = settings.DATA_DIR / job.run_dir / "log.txt" if job.run_dir else None
        if path is None or not path.is_file():
            raise NotFound(_("This job has no log yet."))
        response = FileResponse(open(path, "rb"), content_type="text/plain; charset=utf-8")  # noqa: SIM115
        # Named from the id alone.
        response["Content-Disposition"] = f'attachment; filename="training-job-{job.pk}.log"'
        return response


class TrainingJobCancelView(APIView):
    @extend_schema(
        request=None,
        responses={200: TrainingJobOut, **errors(403, 404, 409)},
        summary="Cancel a training job: a queued one at once, a running one at its next heartbeat (managers+)",
    )
    def post(self, request: AuthenticatedRequest, job_id: int) -> Response:
        membership = caller_membership(request)
        job = selectors.training_job_get(membership=membership, job_id=job_id)
        require_role(request, Role.MANAGER, action="cancel training runs")
        training_job_cancel(job=job, user=request.user)
        return Response(_detail(selectors.training_job_get(membership=membership, job_id=job.pk)))


urlpatterns = [
    re_path(r"^training-jobs/estimate/?$", TrainingEstimateView.as_view(), name="training-estimate"),
    re_path(r"^training-jobs/?$", TrainingJobsView.as_view(), name="training-jobs"),
    re_path(r"^training-jobs/(?P<job_id>\d+)/?$", TrainingJobView.as_view(), name="training-job"),
    re_path(
        r"^training-jobs/(?P<job_id>\d+)/metrics/?$",
        TrainingJobMetricsView.as_view(),
        name="training-job-metrics",
    ),
    re_path(
        r"^training-jobs/(?P<job_id>\d+)/logs/?$", TrainingJobLogsView.as_view(), name="training-job-logs"
    ),
    re_path(
        r"^training-jobs/(?P<job_id>\d+)/cancel/?$",
        TrainingJobCancelView.as_view(),
        name="training-job-cancel",
    ),
]
