"""Review endpoints: the review queue, verdicts on an annotation, bulk accept of a data-table
selection, and the project's review backlog. Reviewers and above; other organizations' objects 404."""

from django.http import HttpResponse
from django.urls import re_path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import schemas
from annotation.api.output import annotation_out, review_out, task_out
from annotation.models import Verdict
from annotation.services import review as review_services
from annotation.task_filters import parse_action_body
from tessera.api.base import json_object
from tessera.api.output import time_out
from tessera.api.schemas import UserSimpleOut
from tessera.errors import ApplicationError, NotFound
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest

# ---- shapes (OpenAPI only; the answers are built by annotation/api/output.py) ---------------------


class ReviewOut(serializers.Serializer):
    id = serializers.IntegerField()
    annotation = serializers.IntegerField()
    task = serializers.IntegerField()
    project = serializers.IntegerField()
    verdict = serializers.ChoiceField(choices=Verdict.values)
    comment = serializers.CharField(allow_blank=True)
    result = serializers.ListField(
        child=serializers.DictField(), allow_null=True, help_text="The corrected result, for a fix."
    )
    reviewer = UserSimpleOut(allow_null=True)
    created_at = serializers.DateTimeField()


class ReviewIn(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.values)
    comment = serializers.CharField(
        required=False, allow_blank=True, help_text="The reason (shown to the annotator)."
    )
    result = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="Only with fix: the corrected result, checked against the label config.",
    )


class ReviewNextOut(serializers.Serializer):
    annotation = schemas.AnnotationOut()
    task = schemas.TaskOut(help_text="The task with every annotation and prediction.")
    reviews = ReviewOut(many=True, help_text="Earlier verdicts on this annotation.")
    lock_expires_at = serializers.DateTimeField(allow_null=True)


class ReviewBulkIn(serializers.Serializer):
    filters = serializers.DictField(
        required=False, allow_null=True, help_text=schemas.TASK_FILTERS_DESCRIPTION
    )
    selectedItems = serializers.DictField(
        help_text='{"all": false, "included": [ids]} or {"all": true, "excluded": [ids]}'
    )
    verdict = serializers.CharField(help_text="accept (the only bulk verdict).")
    comment = serializers.CharField(required=False, allow_blank=True)


class ReviewBulkOut(serializers.Serializer):
    accepted = serializers.IntegerField()
    skipped = serializers.IntegerField(
        help_text="Annotations waiting for review on the selection that were left: the caller's own, held by "
        "another reviewer, or on a task with an open thread when that blocks acceptance."
    )


class ReviewBacklogOut(serializers.Serializer):
    tasks_by_state = serializers.DictField(child=serializers.IntegerField())
    annotations_by_review_state = serializers.DictField(
        child=serializers.IntegerField(), help_text="Submitted (not skipped) annotations per review state."
    )
    to_review = serializers.IntegerField(help_text="Annotations waiting for a verdict on tasks in review.")


# ---- views ----------------------------------------------------------------------------------------


def _handout_out(handout: review_services.ReviewHandout) -> dict:
    return {
        "annotation": annotation_out(handout.annotation),
        "task": task_out(handout.task),
        "reviews": [review_out(review) for review in handout.reviews],
        "lock_expires_at": time_out(handout.lock_expires_at),
    }


class ReviewNextView(APIView):
    """Like /next: POST takes (and locks) the next annotation to review; a GET with a token does the
    same, a GET carried by the session cookie takes nothing (it shows the held or next annotation)."""

    def _project(self, request: AuthenticatedRequest, project_id: int):
        membership = caller_membership(request)
        project = selectors.project_get(membership=membership, project_id=project_id)
        review_services.reviewer_required(membership=membership, project=project, user=request.user)
        return project

    @extend_schema(
        responses={200: ReviewNextOut, **schemas.errors(403, 404)},
        summary="The next annotation to review (token: locks it; session cookie: a look, no lock)",
        description="404 review_queue_empty when nothing is left to review.",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = self._project(request, project_id)
        handout = review_services.review_next(
            project=project, reviewer=request.user, take_lock=request.auth is not None
        )
        if handout is None:
            raise NotFound(_("Nothing is left to review in this project."), code="review_queue_empty")
        return Response(_handout_out(handout))

    @extend_schema(
        request=None,
        # ReviewNextOut (registered by GET) or JSON null: a raw schema, as a serializer cannot say "or null".
        responses={
            200: {"allOf": [{"$ref": "#/components/schemas/ReviewNextOut"}], "nullable": True},
            **schemas.errors(403, 404),
        },
        summary="Take the next annotation to review (locks it), or null when nothing is left",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response | HttpResponse:
        project = self._project(request, project_id)
        handout = review_services.review_next(project=project, reviewer=request.user)
        if handout is None:
            # JSON null (DRF renders a None body as no body at all).
            return HttpResponse(b"null", content_type="application/json")
        return Response(_handout_out(handout))


class AnnotationReviewsView(APIView):
    @extend_schema(
        responses={200: ReviewOut(many=True), **schemas.errors(403, 404)},
        summary="Verdicts on an annotation, oldest first",
    )
    def get(self, request: AuthenticatedRequest, annotation_id: int) -> Response:
        # The role first: an annotator is refused review endpoints (403) before blind annotation would
        # hide another annotator's work from them (404).
        membership = require_role(request, Role.REVIEWER, action="read reviews")
        annotation = selectors.annotation_get(membership=membership, annotation_id=annotation_id)
        review_services.reviewer_required(
            membership=membership, project=annotation.task.project, user=request.user
        )
        return Response([review_out(review) for review in review_services.reviews_of(annotation=annotation)])

    @extend_schema(
        request=ReviewIn,
        responses={201: ReviewOut, **schemas.errors(400, 403, 404, 409)},
        summary="Accept, reject (with a reason) or fix a submitted annotation",
        description="409 already_reviewed when another verdict landed first; 409 open_comments when the project "
        "blocks acceptance on open threads; 400 on a skipped annotation, on a fix whose result does not fit the "
        "config (naming the region), and on a result with accept or reject.",
    )
    def post(self, request: AuthenticatedRequest, annotation_id: int) -> Response:
        membership = require_role(request, Role.REVIEWER, action="review annotations")
        annotation = selectors.annotation_get(membership=membership, annotation_id=annotation_id)
        body = json_object(request)
        review = review_services.review_create(
            annotation=annotation,
            reviewer=request.user,
            membership=membership,
            verdict=body.get("verdict"),
            comment=body.get("comment"),
            result=body["result"] if "result" in body else review_services.MISSING,
        )
        return Response(review_out(review), status=status.HTTP_201_CREATED)


class ReviewBulkView(APIView):
    @extend_schema(
        request=ReviewBulkIn,
        responses={200: ReviewBulkOut, **schemas.errors(400, 403, 404)},
        summary="Accept every annotation waiting for review on a data-table selection",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        membership = caller_membership(request)
        project = selectors.project_get(membership=membership, project_id=project_id)
        review_services.reviewer_required(membership=membership, project=project, user=request.user)
        body = json_object(request)
        if body.get("verdict", "accept") != "accept":
            raise ApplicationError(_("Bulk review only accepts: verdict must be accept."), field="verdict")
        if "selectedItems" not in body:
            raise ApplicationError(_("selectedItems is required."), field="selectedItems", code="required")
        query = parse_action_body(body, limits=selectors.task_query_limits())
        result = review_services.reviews_bulk_accept(
            project=project,
            reviewer=request.user,
            membership=membership,
            query=query,
            comment=body.get("comment"),
        )
        return Response({"accepted": result.accepted, "skipped": result.skipped})


class ReviewBacklogView(APIView):
    @extend_schema(
        responses={200: ReviewBacklogOut, **schemas.errors(403, 404)},
        summary="Tasks per state, annotations per review state, and how many wait for review",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        membership = caller_membership(request)
        project = selectors.project_get(membership=membership, project_id=project_id)
        review_services.reviewer_required(membership=membership, project=project, user=request.user)
        return Response(review_services.review_backlog(project=project))


urlpatterns = [
    re_path(r"^projects/(?P<project_id>\d+)/review/next/?$", ReviewNextView.as_view(), name="review-next"),
    re_path(
        r"^projects/(?P<project_id>\d+)/review/backlog/?$", ReviewBacklogView.as_view(), name="review-backlog"
    ),
    re_path(r"^projects/(?P<project_id>\d+)/reviews/bulk/?$", ReviewBulkView.as_view(), name="reviews-bulk"),
    re_path(
        r"^annotations/(?P<annotation_id>\d+)/reviews/?$",
        AnnotationReviewsView.as_view(),
        name="annotation-reviews",
    ),
]
