"""``/api/projects/{id}/agreement/``: agreement between annotators per control, by annotator pair, by
task, and confusion matrices (two annotators, or one against consensus or gold). Reviewers and above.

Every answer reads the project's summed statistics (its ``ProjectQualityShard`` rows, one statement) or one page of
``TaskQuality`` rows: the cost does not grow with the number of tasks.
"""

from django.http import HttpResponse
from django.urls import re_path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import schemas
from annotation.models import Project, TaskQuality
from annotation.quality.agreement import SEP, confusion_matrix, control_metrics, pair_metrics
from annotation.quality.values import control_kind
from annotation.services.projects import project_schema
from annotation.services.quality import (
    ProjectQualityTotals,
    project_quality,
    task_consensus_best_set,
    task_consensus_out,
)
from tessera.api.base import json_object
from tessera.api.schemas import UserSimpleOut
from tessera.errors import ApplicationError
from tessera.models import Role, User
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest

MAX_PAGE_SIZE = 1000


# ---- shapes (OpenAPI) ---------------------------------------------------------------------------


class LabelAgreementOut(serializers.Serializer):
    span_f1 = serializers.FloatField(allow_null=True, required=False)
    span_f1_overlap = serializers.FloatField(allow_null=True, required=False)
    krippendorff_alpha = serializers.FloatField(allow_null=True, required=False)
    support = serializers.IntegerField()


class ControlAgreementOut(serializers.Serializer):
    type = serializers.CharField(
        help_text="choices, labels, rating, number, pairwise, ranker, textarea, unsupported"
    )
    level = serializers.CharField(
        allow_null=True, help_text="Krippendorff's level: nominal, ordinal, interval."
    )
    krippendorff_alpha = serializers.FloatField(allow_null=True)
    fleiss_kappa = serializers.FloatField(allow_null=True)
    cohen_kappa_mean = serializers.FloatField(allow_null=True)
    span_f1 = serializers.FloatField(allow_null=True)
    span_f1_overlap = serializers.FloatField(allow_null=True)
    per_label = serializers.DictField(child=LabelAgreementOut())
    reason = serializers.CharField(allow_null=True, help_text="Why a figure is null.")


class AgreementOut(serializers.Serializer):
    controls = serializers.DictField(child=ControlAgreementOut())
    tasks = serializers.IntegerField(help_text="Tasks with two or more submitted annotations.")
    annotations = serializers.IntegerField(help_text="Submitted annotations on those tasks.")


class PairControlOut(serializers.Serializer):
    cohen_kappa = serializers.FloatField(allow_null=True)
    span_f1 = serializers.FloatField(allow_null=True)


class PairOut(serializers.Serializer):
    annotators = UserSimpleOut(many=True)
    tasks = serializers.IntegerField()
    controls = serializers.DictField(child=PairControlOut())


class PairsOut(serializers.Serializer):
    pairs = PairOut(many=True)


class TaskAgreementOut(serializers.Serializer):
    task = serializers.IntegerField()
    inner_id = serializers.IntegerField()
    agreement = serializers.FloatField(allow_null=True)
    controls = serializers.DictField(child=serializers.FloatField(allow_null=True))


class TaskAgreementPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    results = TaskAgreementOut(many=True)


class ConfusionOut(serializers.Serializer):
    labels = serializers.ListField(
        child=serializers.CharField(allow_null=True),
        help_text='Row and column labels; null is "no span here".',
    )
    matrix = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))
    tasks = serializers.IntegerField(
        help_text="Units counted (tasks; for spans, offsets marked by either side)."
    )


# ---- reads --------------------------------------------------------------------------------------


def _stats(project: Project) -> ProjectQualityTotals:
    return project_quality(project.pk)


def _kinds(project: Project) -> dict[str, str]:
    return {name: control_kind(spec) for name, spec in project_schema(project).controls.items()}


def _positive(request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise ApplicationError(_("%(name)s must be a positive integer.") % {"name": name}, field=name)
    value = int(raw)
    if maximum is not None and value > maximum:
        raise ApplicationError(
            _("%(name)s must be at most %(maximum)s.") % {"name": name, "maximum": maximum}, field=name
        )
    return value


def _overview(project: Project) -> dict:
    quality = _stats(project)
    return {
        "controls": {
            name: control_metrics(kind, quality.stats.get(name) or {})
            for name, kind in _kinds(project).items()
        },
        "tasks": quality.tasks,
        "annotations": quality.annotations,
    }


def _users(ids: set[int]) -> dict[int, dict]:
    return {
        user.pk: {"id": user.pk, "email": user.email}
        for user in User.objects.filter(pk__in=ids).only("email")
    }


def _pairs(project: Project) -> dict:
    quality = _stats(project)
    kinds = _kinds(project)
    by_pair: dict[str, dict] = {}
    for name, kind in kinds.items():
        for key, pair in ((quality.stats.get(name) or {}).get("pairs") or {}).items():
            entry = by_pair.setdefault(key, {"tasks": 0, "controls": {}})
            entry["tasks"] = max(entry["tasks"], pair.get("tasks", 0))
            entry["controls"][name] = pair_metrics(kind, pair)
    ids = {int(part) for key in by_pair for part in key.split(SEP)}
    users = _users(ids)
    pairs = []
    for key in sorted(by_pair, key=lambda k: tuple(int(p) for p in k.split(SEP))):
        first, second = (int(part) for part in key.split(SEP))
        if first not in users or second not in users:
            continue
        pairs.append({"annotators": [users[first], users[second]], **by_pair[key]})
    return {"pairs": pairs}


def _tasks(project: Project, *, page: int, page_size: int) -> dict:
    rows = TaskQuality.objects.filter(project_id=project.pk)
    count = rows.count()
    page_rows = rows.order_by("task__inner_id").values_list(
        "task_id", "task__inner_id", "agreement", "controls"
    )[(page - 1) * page_size : page * page_size]
    return {
        "count": count,
        "results": [
            {"task": task_id, "inner_id": inner_id, "agreement": agreement, "controls": controls}
            for task_id, inner_id, agreement, controls in page_rows
        ],
    }


REFERENCES = ("consensus", "gold")


def _side(request, name: str) -> str:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        raise ApplicationError(
            _("%(name)s is required: a user id, consensus or gold.") % {"name": name},
            field=name,
            code="required",
        )
    if raw in REFERENCES:
        return raw
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ApplicationError(
            _("%(name)s must be a user id, consensus or gold.") % {"name": name}, field=name
        )
    return str(int(raw))


def _transposed(confusion: dict[str, int]) -> dict[str, int]:
    out = {}
    for key, count in confusion.items():
        a, b = key.split(SEP)
        out[f"{b}{SEP}{a}"] = count
    return out


def _confusion(project: Project, request) -> dict:
    control = request.query_params.get("control")
    kinds = _kinds(project)
    if not control or control not in kinds:
        raise ApplicationError(
            _("control must name a control of the project's label config."), field="control"
        )
    a, b = _side(request, "a"), _side(request, "b")
    stats = _stats(project).stats.get(control) or {}
    if a in REFERENCES and b in REFERENCES:
        raise ApplicationError(
            _("Compare an annotator with another, with consensus or with gold."), field="b"
        )
    if a in REFERENCES or b in REFERENCES:
        reference, user, flip = (a, b, True) if a in REFERENCES else (b, a, False)
        confusion = ((stats.get("references") or {}).get(reference) or {}).get(user) or {}
        if flip:
            confusion = _transposed(confusion)
    else:
        low, high = sorted((int(a), int(b)))
        confusion = ((stats.get("pairs") or {}).get(f"{low}{SEP}{high}") or {}).get("confusion") or {}
        if int(a) > int(b):
            confusion = _transposed(confusion)
    labels, matrix = confusion_matrix(confusion, kinds[control])
    return {
        "labels": [label or None for label in labels],
        "matrix": matrix,
        "tasks": sum(confusion.values()),
    }


# ---- views --------------------------------------------------------------------------------------


def _project(request: AuthenticatedRequest, project_id: int) -> Project:
    project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
    require_role(request, Role.REVIEWER, action="read agreement")
    return project


class AgreementView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "by", str, enum=["annotator_pair", "task"], description="Break the figures down."
            ),
            OpenApiParameter("page", int, description="With by=task."),
            OpenApiParameter("page_size", int, description=f"With by=task; at most {MAX_PAGE_SIZE}."),
        ],
        responses={
            200: PolymorphicProxySerializer(
                component_name="AgreementAnswer",
                serializers=[AgreementOut, PairsOut, TaskAgreementPageOut],
                resource_type_field_name=None,
            ),
            **schemas.errors(400, 403, 404),
        },
        summary="Agreement per control (Krippendorff's alpha, Fleiss' and Cohen's kappa, span F1); reviewer or above",
        description='`?by=annotator_pair` answers `{"pairs": [...]}` (PairsOut); `?by=task` a page of '
        'per-task agreement `{"count", "results"}` (TaskAgreementPageOut).',
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = _project(request, project_id)
        by = request.query_params.get("by")
        if by is None or by == "":
            return Response(_overview(project))
        if by == "annotator_pair":
            return Response(_pairs(project))
        if by == "task":
            page = _positive(request, "page", 1)
            page_size = _positive(request, "page_size", 100, MAX_PAGE_SIZE)
            return Response(_tasks(project, page=page, page_size=page_size))
        raise ApplicationError(_("by must be annotator_pair or task."), field="by")


class AgreementConfusionView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("control", str, required=True),
            OpenApiParameter("a", str, required=True, description="Rows: a user id, consensus or gold."),
            OpenApiParameter("b", str, required=True, description="Columns: a user id, consensus or gold."),
        ],
        responses={200: ConfusionOut, **schemas.errors(400, 403, 404)},
        summary="Confusion matrix of one control between two annotators, or one and consensus or gold",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        return Response(_confusion(_project(request, project_id), request))


class ConsensusBestIn(serializers.Serializer):
    annotation = serializers.IntegerField(
        allow_null=True,
        help_text="The submitted free-text answer taken as the consensus; null clears the pick.",
    )


class TaskConsensusView(APIView):
    @extend_schema(
        request=ConsensusBestIn,
        # The task's consensus, or JSON null until the task has its overlap.
        responses={
            200: {"allOf": [{"$ref": "#/components/schemas/ConsensusOut"}], "nullable": True},
            **schemas.errors(400, 403, 404, 409),
        },
        summary="Mark the best free-text answer of a task: its text consensus",
        description="Reviewers and above. 409 no_consensus while the task has fewer than two submitted answers.",
    )
    def post(self, request: AuthenticatedRequest, task_id: int) -> Response | HttpResponse:
        membership = require_role(request, Role.REVIEWER, action="choose a consensus")
        task = selectors.task_get(membership=membership, task_id=task_id)
        body = json_object(request)
        if "annotation" not in body:
            raise ApplicationError(
                _("annotation is required (an id, or null)."), field="annotation", code="required"
            )
        task_consensus_best_set(task=task, annotation_id=body["annotation"], user=request.user)
        consensus = task_consensus_out(task_id=task.pk)
        if consensus is None:
            return HttpResponse(b"null", content_type="application/json")
        return Response(consensus)


urlpatterns = [
    re_path(r"^tasks/(?P<task_id>\d+)/consensus/?$", TaskConsensusView.as_view(), name="task-consensus"),
    re_path(r"^projects/(?P<project_id>\d+)/agreement/?$", AgreementView.as_view(), name="project-agreement"),
    re_path(
        r"^projects/(?P<project_id>\d+)/agreement/confusion/?$",
        AgreementConfusionView.as_view(),
        name="project-agreement-confusion",
    ),
]
