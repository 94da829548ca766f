"""Endpoints of the annotator's browser app that Label Studio's API lacks: per-project progress for the
caller, the next task with an empty queue as an answer rather than an error, skipping with a reason, and
the caller's recent annotations (to correct an earlier answer)."""

from django.conf import settings
from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import schemas
from annotation.api.output import annotation_out, task_out
from annotation.api.views import next_task_out
from annotation.services import labeling, queue
from annotation.services.project_members import project_member_required
from tessera import validation
from tessera.api.base import json_object
from tessera.errors import NotFound
from tessera.permissions import caller_membership
from tessera.request_types import AuthenticatedRequest

RECENT_LIMIT_MAX = 100


def progress_out(progress: labeling.ProjectProgress) -> dict:
    project = progress.project
    return {
        "id": project.pk,
        "title": project.title,
        "description": project.description,
        "role": progress.role,
        "total_tasks": progress.total_tasks,
        "tasks_labeled": progress.tasks_labeled,
        "tasks_left_for_me": progress.tasks_left_for_user,
        "done_today": progress.done_today,
        "skipped_today": progress.skipped_today,
        "overlap": project.maximum_annotations,
    }


class LabelingProjectListView(APIView):
    @extend_schema(
        responses={200: schemas.ProgressListOut},
        operation_id="labeling_projects_list",
        summary="Projects of the active organization with the caller's progress",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        membership = caller_membership(request)
        rows = labeling.project_progress_list(membership=membership, user=request.user)
        return Response({"results": [progress_out(row) for row in rows]})


class LabelingProjectView(APIView):
    @extend_schema(
        responses={200: schemas.LabelingProjectOut, **schemas.errors(403, 404)},
        summary="One project for the labeling page: config, instructions, progress",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        membership = caller_membership(request)
        project = selectors.project_get(membership=membership, project_id=project_id)
        project_member_required(project=project, user=request.user, rank=membership.rank)
        (progress,) = labeling.project_progress_list(
            membership=membership, user=request.user, projects=[project]
        )
        return Response(
            progress_out(progress)
            | {
                "label_config": project.label_config,
                "expert_instruction": project.expert_instruction,
                "show_instruction": project.show_instruction,
                "show_skip_button": project.show_skip_button,
                "enable_empty_annotation": project.enable_empty_annotation,
                "lock_seconds": settings.TESSERA_TASK_LOCK_SECONDS,
            }
        )


class LabelingRecentView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("limit", int)],
        responses={200: schemas.RecentListOut, **schemas.errors(400, 404)},
        summary="The caller's latest annotations in a project, with their tasks",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        limit = validation.query_integer(
            request.query_params.get("limit", 20), field="limit", high=RECENT_LIMIT_MAX
        )
        rows = labeling.annotations_recent(project=project, user=request.user, limit=limit)
        return Response(
            {
                "results": [
                    {"annotation": annotation_out(a), "task": task_out(a.task, hide_gold=True)} for a in rows
                ]
            }
        )


class LabelingNextView(APIView):
    """The labeling page's queue. Label Studio's ``/api/projects/{id}/next`` answers an empty queue with
    404, which a browser logs as a failed request on every visit to a finished project; here the end of
    the queue is an ordinary answer, ``{"task": null}``."""

    @extend_schema(
        request=None,
        responses={200: schemas.LabelingNextOut, **schemas.errors(403, 404)},
        summary="Take the next task to label (locks it), or null at the end of the caller's queue",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        membership = caller_membership(request)
        project = selectors.project_get(membership=membership, project_id=project_id)
        project_member_required(project=project, user=request.user, rank=membership.rank)
        try:
            task = queue.next_task(project=project, user=request.user)
        except NotFound as error:
            if error.code != "no_more_tasks":
                raise
            return Response({"task": None})
        return Response({"task": next_task_out(task, request.user)})


class TaskSkipView(APIView):
    @extend_schema(
        request=schemas.SkipIn,
        responses={201: schemas.AnnotationOut, **schemas.errors(400, 403, 404, 409)},
        summary="Skip a task with an optional reason",
    )
    def post(self, request: AuthenticatedRequest, task_id: int) -> Response:
        membership = caller_membership(request)
        task = selectors.task_get(membership=membership, task_id=task_id)
        body = json_object(request)
        annotation = labeling.annotation_skip(
            task=task, user=request.user, reason=body.get("reason"), lead_time=body.get("lead_time"),
            membership=membership,
        )  # fmt: skip
        return Response(annotation_out(annotation), status=status.HTTP_201_CREATED)


urlpatterns = [
    re_path(r"^labeling/projects/?$", LabelingProjectListView.as_view(), name="labeling-projects"),
    re_path(
        r"^labeling/projects/(?P<project_id>\d+)/?$", LabelingProjectView.as_view(), name="labeling-project"
    ),
    re_path(
        r"^labeling/projects/(?P<project_id>\d+)/recent/?$",
        LabelingRecentView.as_view(),
        name="labeling-recent",
    ),
    re_path(
        r"^labeling/projects/(?P<project_id>\d+)/next/?$", LabelingNextView.as_view(), name="labeling-next"
    ),
    re_path(r"^tasks/(?P<task_id>\d+)/skip/?$", TaskSkipView.as_view(), name="task-skip"),
]
