"""Annotator metrics, the project's timeline and gold scores (reviewers and above), and resuming an
annotator the gold floor paused (managers and above).

``GET /api/projects/{id}/annotators/`` (``?by=day``), ``GET /api/projects/{id}/timeline/``,
``GET /api/projects/{id}/gold/``, ``POST /api/projects/{id}/annotators/{user_id}/resume``.
"""

from django.urls import re_path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import annotator_metrics, selectors
from annotation.api import schemas
from annotation.services import gold
from tessera.errors import ApplicationError
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest

# ---- schema-only shapes ---------------------------------------------------------------------------


class MetricUserOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField(allow_blank=True)


def _share(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


class AnnotatorMetricsRowOut(serializers.Serializer):
    user = MetricUserOut()
    tasks_done = serializers.IntegerField(help_text="Submitted (not skipped) answers.")
    median_lead_time = _share("Median seconds spent on a submitted answer; null without any.")
    skip_rate = _share("Skips / (submitted + skipped).")
    rejection_rate = _share("Rejected / reviewed answers (review_state other than submitted).")
    gold_score = _share("Score on gold tasks, 0-1 over the scored controls (higher is better).")
    gold_tasks = serializers.IntegerField(help_text="Gold tasks answered and scored.")
    consensus_agreement = _share(
        "Share of the annotator's units (a choice answer; for spans, an offset marked by the answer or "
        "the consensus) equal to the task's consensus, over tasks at their overlap with a consensus; "
        "null before any."
    )
    prelabel_accepted_unchanged = _share(
        "Answers started from a prediction and submitted unchanged / all such."
    )
    flagged = serializers.BooleanField(help_text="Gold score under the project's floor.")
    paused = serializers.BooleanField(help_text="The gold floor paused their queue.")


class AnnotatorMetricsOut(serializers.Serializer):
    annotators = AnnotatorMetricsRowOut(many=True)


class AnnotatorDayRowOut(serializers.Serializer):
    date = serializers.DateField()
    user = MetricUserOut()
    tasks_done = serializers.IntegerField()
    median_lead_time = serializers.FloatField(allow_null=True)
    skip_rate = serializers.FloatField(allow_null=True)


class AnnotatorDaysOut(serializers.Serializer):
    days = AnnotatorDayRowOut(many=True)


class TimelineDayOut(serializers.Serializer):
    date = serializers.DateField()
    submitted = serializers.IntegerField(help_text="Answers submitted that day (skips left out).")
    reviewed = serializers.IntegerField(help_text="Review verdicts given that day.")
    accepted = serializers.IntegerField(help_text="Accepting verdicts given that day.")


class TimelineOut(serializers.Serializer):
    days = TimelineDayOut(many=True)


class GoldControlOut(serializers.Serializer):
    metric = serializers.ChoiceField(choices=["accuracy", "span_f1", "absolute_error"])
    value = serializers.FloatField(allow_null=True, help_text="Mean accuracy, span F1 or absolute error.")
    n = serializers.IntegerField(help_text="Answers scored on this control.")


class GoldAnnotatorOut(serializers.Serializer):
    user = MetricUserOut()
    controls = serializers.DictField(child=GoldControlOut())
    score = serializers.FloatField(allow_null=True)
    gold_answers = serializers.IntegerField()
    flagged = serializers.BooleanField()
    paused = serializers.BooleanField()


class GoldReportOut(serializers.Serializer):
    gold_tasks = serializers.IntegerField()
    annotators = GoldAnnotatorOut(many=True)


class ResumeOut(serializers.Serializer):
    paused = serializers.BooleanField()


# ---- views ----------------------------------------------------------------------------------------


class ProjectAnnotatorsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("by", str, enum=["day"], description="`day`: one row per day and annotator.")
        ],
        responses={
            # One shape or the other, by ?by=.
            200: PolymorphicProxySerializer(
                component_name="AnnotatorMetricsAnswer",
                serializers=[AnnotatorMetricsOut, AnnotatorDaysOut],
                resource_type_field_name=None,
            ),
            **schemas.errors(400, 403, 404),
        },
        summary="Per annotator: tasks done, lead time, skip and rejection rates, gold score; reviewer or above",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.REVIEWER, action="read annotator metrics")
        by = request.query_params.get("by")
        if by is None or by == "":
            return Response({"annotators": annotator_metrics.annotator_rows(project=project)})
        if by == "day":
            return Response({"days": annotator_metrics.annotator_day_rows(project=project)})
        raise ApplicationError(_("by must be day, or left out."), field="by")


class ProjectTimelineView(APIView):
    @extend_schema(
        responses={200: TimelineOut, **schemas.errors(403, 404)},
        summary="Answers submitted, reviewed and accepted per day; reviewer or above",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.REVIEWER, action="read the project's timeline")
        return Response({"days": annotator_metrics.timeline(project=project)})


class ProjectGoldView(APIView):
    @extend_schema(
        responses={200: GoldReportOut, **schemas.errors(403, 404)},
        summary="Gold tasks and each annotator's score on them per control; reviewer or above",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.REVIEWER, action="read gold scores")
        return Response(annotator_metrics.gold_report(project=project))


class AnnotatorResumeView(APIView):
    @extend_schema(
        request=None,
        responses={200: ResumeOut, **schemas.errors(403, 404)},
        summary="Let an annotator the gold floor paused take tasks again; manager or above",
    )
    def post(self, request: AuthenticatedRequest, project_id: int, user_id: str) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="resume annotators")
        gold.annotator_resume(project=project, user_id=user_id, actor=request.user)
        return Response({"paused": False})


urlpatterns = [
    re_path(
        r"^projects/(?P<project_id>\d+)/annotators/?$",
        ProjectAnnotatorsView.as_view(),
        name="project-annotators",
    ),
    re_path(
        r"^projects/(?P<project_id>\d+)/annotators/(?P<user_id>[0-9]{1,18})/resume/?$",
        AnnotatorResumeView.as_view(),
        name="project-annotator-resume",
    ),
    re_path(
        r"^projects/(?P<project_id>\d+)/timeline/?$", ProjectTimelineView.as_view(), name="project-timeline"
    ),
    re_path(r"^projects/(?P<project_id>\d+)/gold/?$", ProjectGoldView.as_view(), name="project-gold"),
]
