"""Comments on tasks: ``/api/tasks/{id}/comments/``, ``/api/comments/{id}/`` and the project's threads
(``/api/projects/{id}/comments/``). Anyone who may see the task reads and writes them; the rules are in
``annotation/services/comments.py``."""

from django.urls import re_path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import schemas
from annotation.models import Comment
from annotation.services import comments as comment_services
from annotation.services.project_members import project_member_required
from tessera.api.base import json_object, page_params
from tessera.api.output import time_out
from tessera.errors import ApplicationError
from tessera.models import User
from tessera.permissions import caller_membership
from tessera.request_types import AuthenticatedRequest

# ---- shapes ----------------------------------------------------------------------------------------------


class TaskCommentUserOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()


class TaskCommentOut(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.IntegerField()
    annotation = serializers.IntegerField(allow_null=True)
    # The API's field is called parent, which shadows Serializer.parent; harmless in a schema-only serializer.
    parent = serializers.IntegerField(  # type: ignore[assignment]
        allow_null=True, help_text="The thread's root; null for a thread."
    )
    author = TaskCommentUserOut(allow_null=True)
    text = serializers.CharField(help_text="As written: plain text (HTML in it is text, never markup).")
    mentions = TaskCommentUserOut(many=True, help_text="Members named as @email.")
    is_resolved = serializers.BooleanField()
    resolved_by = TaskCommentUserOut(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TaskCommentPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    results = TaskCommentOut(many=True)


class TaskCommentIn(serializers.Serializer):
    text = serializers.CharField(
        help_text="Up to TESSERA_COMMENT_MAX_CHARS characters; @email mentions a member."
    )
    parent = serializers.IntegerField(  # type: ignore[assignment]
        required=False, allow_null=True, help_text="A comment of the thread to reply to."
    )
    annotation = serializers.IntegerField(
        required=False, allow_null=True, help_text="The annotation it is about."
    )


class TaskCommentUpdateIn(serializers.Serializer):
    text = serializers.CharField(required=False, help_text="Its author only.")
    is_resolved = serializers.BooleanField(required=False, help_text="Resolve or reopen a thread.")


# ---- output ----------------------------------------------------------------------------------------------


def _user(user: User | None) -> dict | None:
    return None if user is None else {"id": user.pk, "email": user.email}


def comment_out(comment: Comment, *, mentioned: dict[int, User]) -> dict:
    return {
        "id": comment.pk,
        "task": comment.task_id,
        "annotation": comment.annotation_id,
        "parent": comment.parent_id,
        "author": _user(comment.author),
        "text": comment.text,
        "mentions": [_user(mentioned[user_id]) for user_id in comment.mentions if user_id in mentioned],
        "is_resolved": comment.is_resolved,
        "resolved_by": _user(comment.resolved_by),
        "resolved_at": time_out(comment.resolved_at),
        "created_at": time_out(comment.created_at),
        "updated_at": time_out(comment.updated_at),
    }


def comments_out(comments: list[Comment]) -> list[dict]:
    mentioned = selectors.comment_mentioned_users(comments=comments)
    return [comment_out(comment, mentioned=mentioned) for comment in comments]


def _one(comment: Comment) -> dict:
    (body,) = comments_out([comment])
    return body


# ---- views -----------------------------------------------------------------------------------------------


class TaskCommentsView(APIView):
    @extend_schema(
        responses={200: TaskCommentOut(many=True), **schemas.errors(403, 404)},
        summary="A task's comments, threads and replies, oldest first",
    )
    def get(self, request: AuthenticatedRequest, task_id: int) -> Response:
        membership = caller_membership(request)
        task = selectors.task_get(membership=membership, task_id=task_id)
        project_member_required(project=task.project, user=request.user, rank=membership.rank)
        return Response(comments_out(list(selectors.comments_of_task(task=task))))

    @extend_schema(
        request=TaskCommentIn,
        responses={201: TaskCommentOut, **schemas.errors(400, 403, 404)},
        summary="Comment on a task (a thread, or a reply with parent); @email mentions a member",
    )
    def post(self, request: AuthenticatedRequest, task_id: int) -> Response:
        membership = caller_membership(request)
        task = selectors.task_get(membership=membership, task_id=task_id)
        body = json_object(request)
        comment = comment_services.comment_create(
            task=task,
            user=request.user,
            membership=membership,
            text=body.get("text"),
            parent=body.get("parent"),
            annotation=body.get("annotation"),
        )
        comment = selectors.comment_get(membership=membership, comment_id=comment.pk)
        return Response(_one(comment), status=status.HTTP_201_CREATED)


class CommentDetailView(APIView):
    @extend_schema(
        request=TaskCommentUpdateIn,
        responses={200: TaskCommentOut, **schemas.errors(400, 403, 404)},
        summary="Change a comment's text (its author) or resolve and reopen a thread (anyone on the project)",
    )
    def patch(self, request: AuthenticatedRequest, comment_id: int) -> Response:
        membership = caller_membership(request)
        comment = selectors.comment_get(membership=membership, comment_id=comment_id)
        comment_services.comment_update(
            comment=comment, user=request.user, membership=membership, fields=json_object(request)
        )
        return Response(_one(selectors.comment_get(membership=membership, comment_id=comment_id)))

    @extend_schema(
        responses={204: None, **schemas.errors(403, 404)},
        summary="Delete a comment (its author, or a manager and above); a thread goes with its replies",
    )
    def delete(self, request: AuthenticatedRequest, comment_id: int) -> Response:
        membership = caller_membership(request)
        comment = selectors.comment_get(membership=membership, comment_id=comment_id)
        comment_services.comment_delete(comment=comment, user=request.user, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectCommentsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "open", str, description="1 (or true): unresolved threads only; 0 or false: every thread."
            ),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: TaskCommentPageOut, **schemas.errors(400, 403, 404)},
        summary="The project's threads (comments without parent), newest first, paged",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        membership = caller_membership(request)
        project = selectors.project_get(membership=membership, project_id=project_id)
        project_member_required(project=project, user=request.user, rank=membership.rank)
        open_value = request.query_params.get("open", "0")
        if open_value not in ("0", "1", "true", "false"):
            raise ApplicationError(_("open must be 1 or 0."), field="open")
        page, page_size = page_params(request, default_size=100, clamp=True)
        threads = selectors.comment_threads(project=project, open_only=open_value in ("1", "true"))
        count = threads.count()
        rows = list(threads[(page - 1) * page_size : page * page_size])
        return Response({"count": count, "results": comments_out(rows)})


urlpatterns = [
    re_path(r"^tasks/(?P<task_id>\d+)/comments/?$", TaskCommentsView.as_view(), name="task-comments"),
    re_path(r"^comments/(?P<comment_id>\d+)/?$", CommentDetailView.as_view(), name="comment-detail"),
    re_path(
        r"^projects/(?P<project_id>\d+)/comments/?$", ProjectCommentsView.as_view(), name="project-comments"
    ),
]
