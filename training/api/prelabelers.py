"""Pre-labelers and their jobs: ``/api/projects/{id}/prelabelers/``, ``/api/prelabelers/{id}/`` (and its
``test/`` and ``jobs/``), ``/api/prelabel-jobs/{id}/`` (and ``cancel/``), ``/api/projects/{id}/prelabel-jobs/``.

Managers and above create, change, test and run pre-labelers; reviewers and above read them and their
jobs. Another organization's objects are 404s whatever the caller's role (the lookup is scoped first, as
everywhere in the API); then the role is checked, before the body is read or a backend is built.
"""

from functools import cache
from typing import Any

from django.urls import re_path
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors as annotation_selectors
from annotation.api.schemas import errors
from tessera.api.base import json_object
from tessera.api.output import time_out, user_simple_out
from tessera.api.schemas import UserSimpleOut
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest
from training import selectors
from training.models import PrelabelBackend, Prelabeler, PrelabelJob
from training.prelabelers.registry import BACKEND_CLASSES, backend_class
from training.services import prelabel_jobs as job_services
from training.services import prelabelers as services

# ---- shapes ------------------------------------------------------------------------------------------------


class PrelabelerOut(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    title = serializers.CharField()
    backend = serializers.ChoiceField(choices=PrelabelBackend.values)
    settings = serializers.DictField(help_text="The backend's settings, defaults filled in.")
    run_on_import = serializers.BooleanField(help_text="Pre-label the tasks of every later import.")
    is_active = serializers.BooleanField()
    model_version = serializers.CharField(
        allow_blank=True, help_text="Its latest fit's version (a learning backend), or its rules' version."
    )
    fitted_at = serializers.DateTimeField(allow_null=True)
    fitted_examples = serializers.IntegerField(help_text="Labeled examples the latest fit learned from.")
    fit_info = serializers.DictField(
        allow_null=True,
        help_text="What the latest fit reported; for a learning pre-labeler never fitted, a failed first fit: "
        '{"state": "failed", "error_message", "labels"} (the labeled tasks it tried).',
    )
    learns = serializers.BooleanField(help_text="Fits on the project's labels before predicting.")
    created_by = UserSimpleOut(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PrelabelerCreateBase(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=250, help_text="By default the backend's name.")
    run_on_import = serializers.BooleanField(required=False, default=False)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@cache
def _create_bodies() -> dict[str, serializers.Serializer]:
    """One request shape per backend, its ``settings`` documented by the backend's settings serializer.

    Built on first use (the schema's generation), so serving the API loads no backend module.
    """
    bodies: dict[str, serializers.Serializer] = {}
    for name in PrelabelBackend.values:
        try:
            backend = backend_class(name)
        except ModuleNotFoundError as exc:
            # A backend whose module is not in this checkout; a missing dependency of one that is, fails.
            if exc.name != BACKEND_CLASSES[name].rpartition(".")[0]:
                raise
            continue
        body = type(
            f"{_camel(name)}PrelabelerIn",
            (PrelabelerCreateBase,),
            {
                "backend": serializers.ChoiceField(choices=[name]),
                "settings": backend.settings_serializer(required=False, help_text="Every key has a default."),
            },
        )
        bodies[name] = body()
    return bodies


PrelabelerCreateIn = PolymorphicProxySerializer(
    component_name="PrelabelerCreateIn",
    serializers=_create_bodies,  # type: ignore[arg-type]  # a cached function, called the same way
    resource_type_field_name="backend",
)


class PrelabelerUpdateIn(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=250)
    settings = serializers.DictField(
        required=False, help_text="The backend's settings (see the create body of each backend)."
    )
    run_on_import = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class PrelabelerTestIn(serializers.Serializer):
    task = serializers.IntegerField(help_text="A task of the pre-labeler's project.")


class PrelabelerTestOut(serializers.Serializer):
    task = serializers.IntegerField()
    model_version = serializers.CharField(allow_blank=True)
    result = serializers.ListField(child=serializers.DictField(), help_text="Label Studio regions.")
    score = serializers.FloatField(allow_null=True)
    uncertainty = serializers.FloatField(allow_null=True)
    dropped = serializers.CharField(
        allow_null=True, help_text="Why the answer was left out (it did not fit the config), or null."
    )


class PrelabelJobIn(serializers.Serializer):
    tasks = serializers.JSONField(
        required=False,
        help_text='"unlabeled" (the default), "all", {"filter": {"filters": …, "selectedItems": …}} '
        "(the data table's body) or a list of task ids.",
    )
    refit = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Fit a learning backend again first, even if its fit is current.",
    )


class PrelabelJobErrorOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)


class PrelabelJobOut(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    prelabeler = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "in_progress", "completed", "failed", "cancelled"])
    scope = serializers.DictField(help_text='{"tasks": …, "refit": bool}: the tasks asked for.')
    model_version = serializers.CharField(
        allow_blank=True, help_text="Set once the job started (after a fit)."
    )
    tasks_done = serializers.IntegerField()
    tasks_total = serializers.IntegerField(help_text="Tasks in scope when the job started.")
    predictions_written = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Tasks that already had this model version's prediction.")
    dropped = serializers.IntegerField(help_text="Answers that did not fit the label config.")
    # The API's field is called errors, which shadows Serializer.errors; harmless in a schema-only serializer.
    errors = serializers.IntegerField(help_text="Failed tries of a batch.")  # type: ignore[assignment]
    error = serializers.CharField(allow_null=True, help_text="Why it failed, as text.")
    error_detail = PrelabelJobErrorOut(allow_null=True)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


# ---- output -----------------------------------------------------------------------------------------------


def prelabeler_out(prelabeler: Prelabeler) -> dict[str, Any]:
    return {
        "id": prelabeler.pk,
        "project": prelabeler.project_id,
        "title": prelabeler.title,
        "backend": prelabeler.backend,
        # Secrets (a password, an API key) never go out: <name>_is_set says whether one is kept.
        "settings": backend_class(prelabeler.backend).public_settings(prelabeler.settings),
        "run_on_import": prelabeler.run_on_import,
        "is_active": prelabeler.is_active,
        "model_version": prelabeler.model_version,
        "fitted_at": time_out(prelabeler.fitted_at),
        "fitted_examples": prelabeler.fitted_examples,
        "fit_info": prelabeler.fit_info,
        "learns": backend_class(prelabeler.backend).learns,
        "created_by": user_simple_out(prelabeler.created_by),
        "created_at": time_out(prelabeler.created_at),
        "updated_at": time_out(prelabeler.updated_at),
    }


def _error_text(error: dict | None) -> str | None:
    if not error:
        return None
    return f"{error['field']}: {error['message']}" if error.get("field") else error.get("message")


def prelabel_job_out(job: PrelabelJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "project": job.project_id,
        "prelabeler": job.prelabeler_id,
        "status": job.state,
        "scope": job.scope,
        "model_version": job.model_version,
        "tasks_done": job.tasks_done,
        "tasks_total": job.total,
        "predictions_written": job.predictions_written,
        "skipped": job.skipped,
        "dropped": job.dropped,
        "errors": job.errors,
        "error": _error_text(job.error),
        "error_detail": job.error,
        "attempts": job.attempts,
        "created_at": time_out(job.created_at),
        "started_at": time_out(job.started_at),
        "finished_at": time_out(job.finished_at),
    }


# ---- views ------------------------------------------------------------------------------------------------


class ProjectPrelabelersView(APIView):
    @extend_schema(
        responses={200: PrelabelerOut(many=True), **errors(403, 404)},
        summary="The project's pre-labelers (reviewers and above)",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        membership = caller_membership(request)
        project = annotation_selectors.project_get(membership=membership, project_id=project_id)
        require_role(request, Role.REVIEWER, action="read pre-labelers")
        return Response([prelabeler_out(p) for p in selectors.prelabelers_of(project=project)])

    @extend_schema(
        request=PrelabelerCreateIn,
        responses={201: PrelabelerOut, **errors(400, 403, 404)},
        summary="Add a pre-labeler (managers and above); each backend's settings have working defaults",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        membership = caller_membership(request)
        project = annotation_selectors.project_get(membership=membership, project_id=project_id)
        require_role(request, Role.MANAGER, action="add pre-labelers")
        body = json_object(request)
        prelabeler = services.create_prelabeler(
            project=project,
            user=request.user,
            backend=body.get("backend"),
            title=body.get("title"),
            settings=body.get("settings"),
            run_on_import=body.get("run_on_import", False),
        )
        prelabeler = selectors.prelabeler_get(membership=membership, prelabeler_id=prelabeler.pk)
        return Response(prelabeler_out(prelabeler), status=status.HTTP_201_CREATED)


class PrelabelerDetailView(APIView):
    @extend_schema(responses={200: PrelabelerOut, **errors(403, 404)}, summary="One pre-labeler")
    def get(self, request: AuthenticatedRequest, prelabeler_id: int) -> Response:
        prelabeler = selectors.prelabeler_get(
            membership=caller_membership(request), prelabeler_id=prelabeler_id
        )
        require_role(request, Role.REVIEWER, action="read pre-labelers")
        return Response(prelabeler_out(prelabeler))

    @extend_schema(
        request=PrelabelerUpdateIn,
        responses={200: PrelabelerOut, **errors(400, 403, 404)},
        summary="Change a pre-labeler's title, settings, run_on_import or is_active (managers and above)",
    )
    def patch(self, request: AuthenticatedRequest, prelabeler_id: int) -> Response:
        membership = caller_membership(request)
        prelabeler = selectors.prelabeler_get(membership=membership, prelabeler_id=prelabeler_id)
        require_role(request, Role.MANAGER, action="change pre-labelers")
        services.prelabeler_update(prelabeler=prelabeler, user=request.user, fields=json_object(request))
        return Response(
            prelabeler_out(selectors.prelabeler_get(membership=membership, prelabeler_id=prelabeler_id))
        )

    @extend_schema(
        responses={204: None, **errors(403, 404)},
        summary="Delete a pre-labeler and its jobs; its predictions stay (managers and above)",
    )
    def delete(self, request: AuthenticatedRequest, prelabeler_id: int) -> Response:
        membership = caller_membership(request)
        prelabeler = selectors.prelabeler_get(membership=membership, prelabeler_id=prelabeler_id)
        require_role(request, Role.MANAGER, action="delete pre-labelers")
        services.prelabeler_delete(prelabeler=prelabeler, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PrelabelerTestView(APIView):
    @extend_schema(
        request=PrelabelerTestIn,
        responses={200: PrelabelerTestOut, **errors(400, 403, 404, 409, 502)},
        summary="The pre-labeler's answer for one task, written nowhere (managers and above); "
        "409 not_fitted for a learning backend never fitted",
    )
    def post(self, request: AuthenticatedRequest, prelabeler_id: int) -> Response:
        membership = caller_membership(request)
        prelabeler = selectors.prelabeler_get(membership=membership, prelabeler_id=prelabeler_id)
        require_role(request, Role.MANAGER, action="run pre-labelers")
        answer = services.prelabeler_test(prelabeler=prelabeler, task_id=json_object(request).get("task"))
        return Response(
            {
                "task": answer.task_id,
                "model_version": answer.model_version,
                "result": answer.result,
                "score": answer.score,
                "uncertainty": answer.uncertainty,
                "dropped": answer.dropped,
            }
        )


class PrelabelerJobsView(APIView):
    @extend_schema(
        request=PrelabelJobIn,
        responses={201: PrelabelJobOut, **errors(400, 403, 404, 409)},
        summary="Run the pre-labeler over tasks as a job on the prelabel queue (managers and above)",
    )
    def post(self, request: AuthenticatedRequest, prelabeler_id: int) -> Response:
        membership = caller_membership(request)
        prelabeler = selectors.prelabeler_get(membership=membership, prelabeler_id=prelabeler_id)
        require_role(request, Role.MANAGER, action="run pre-labelers")
        body = json_object(request)
        job = job_services.prelabel_job_create(
            prelabeler=prelabeler, user=request.user, tasks=body.get("tasks"), refit=body.get("refit", False)
        )
        return Response(prelabel_job_out(job), status=status.HTTP_201_CREATED)


class PrelabelJobView(APIView):
    @extend_schema(
        responses={200: PrelabelJobOut, **errors(403, 404)},
        summary="A pre-labeling job: status and progress (reviewers and above)",
    )
    def get(self, request: AuthenticatedRequest, job_id: int) -> Response:
        job = selectors.prelabel_job_get(membership=caller_membership(request), job_id=job_id)
        require_role(request, Role.REVIEWER, action="read pre-labeling jobs")
        return Response(prelabel_job_out(job))


class PrelabelJobCancelView(APIView):
    @extend_schema(
        request=None,
        responses={200: PrelabelJobOut, **errors(403, 404, 409)},
        summary="Cancel a job: a waiting one at once, a running one at its next batch (managers and above)",
    )
    def post(self, request: AuthenticatedRequest, job_id: int) -> Response:
        membership = caller_membership(request)
        job = selectors.prelabel_job_get(membership=membership, job_id=job_id)
        require_role(request, Role.MANAGER, action="cancel pre-labeling jobs")
        return Response(prelabel_job_out(job_services.prelabel_job_cancel(job=job, user=request.user)))


class ProjectPrelabelJobsView(APIView):
    @extend_schema(
        responses={200: PrelabelJobOut(many=True), **errors(403, 404)},
        summary="The project's recent pre-labeling jobs, newest first (at most 50; reviewers and above)",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        membership = caller_membership(request)
        project = annotation_selectors.project_get(membership=membership, project_id=project_id)
        require_role(request, Role.REVIEWER, action="read pre-labeling jobs")
        return Response([prelabel_job_out(job) for job in selectors.prelabel_jobs_recent(project=project)])


urlpatterns = [
    re_path(
        r"^projects/(?P<project_id>\d+)/prelabelers/?$",
        ProjectPrelabelersView.as_view(),
        name="project-prelabelers",
    ),
    re_path(
        r"^prelabelers/(?P<prelabeler_id>\d+)/?$", PrelabelerDetailView.as_view(), name="prelabeler-detail"
    ),
    re_path(
        r"^prelabelers/(?P<prelabeler_id>\d+)/test/?$", PrelabelerTestView.as_view(), name="prelabeler-test"
    ),
    re_path(
        r"^prelabelers/(?P<prelabeler_id>\d+)/jobs/?$", PrelabelerJobsView.as_view(), name="prelabeler-jobs"
    ),
    re_path(r"^prelabel-jobs/(?P<job_id>\d+)/?$", PrelabelJobView.as_view(), name="prelabel-job"),
    re_path(
        r"^prelabel-jobs/(?P<job_id>\d+)/cancel/?$",
        PrelabelJobCancelView.as_view(),
        name="prelabel-job-cancel",
    ),
    re_path(
        r"^projects/(?P<project_id>\d+)/prelabel-jobs/?$",
        ProjectPrelabelJobsView.as_view(),
        name="project-prelabel-jobs",
    ),
]
