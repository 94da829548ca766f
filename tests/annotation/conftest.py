import json

import pytest
from django.forms.models import model_to_dict

from annotation.models import Annotation, Draft, ImportJob, Prediction, Project, Task, TaskLock
from annotation.services.annotations import annotation_create, draft_save, prediction_create
from annotation.services.import_jobs import import_job_create
from tessera.models import AuditEvent, Membership
from tests.conftest import choice

# Everything an API call could change; tokens are left out since using one stamps last_used_at.
WATCHED_MODELS = (Project, Task, Annotation, Prediction, Draft, TaskLock, ImportJob, Membership, AuditEvent)


@pytest.fixture
def snapshot():
    """``snapshot()`` returns every watched row, so that ``snapshot() == before`` proves nothing changed."""

    def take() -> dict:
        return {
            model.__name__: [model_to_dict(row) for row in model.objects.order_by("pk")]
            for model in WATCHED_MODELS
        }

    return take


@pytest.fixture
def world(cast, make_project, django_capture_on_commit_callbacks, settings, tmp_path):
    """Acme's sentiment project with one of each object: two tasks, an annotation and a draft of the
    annotator, a prediction, a background import job (never sent to a worker)."""
    settings.TESSERA_IMPORT_DIR = tmp_path
    project = make_project(tasks=[{"text": "Rates rise."}, {"text": "Rates fall."}])
    first, second = project.tasks.order_by("inner_id")
    annotation = annotation_create(task=first, user=cast.users["annotator"], result=choice("Positive"))
    prediction = prediction_create(
        task=first, user=cast.users["manager"], result=choice("Negative"), score=0.5
    )
    draft = draft_save(task=second, user=cast.users["annotator"], result=choice("Neutral"))
    with django_capture_on_commit_callbacks(execute=False):
        job = import_job_create(
            project=project, user=cast.users["manager"], chunks=[b'[{"text": "x"}]'], file_format="json",
            original_name="late.json",
        )  # fmt: skip
    first.refresh_from_db()
    return {
        "project": project,
        "task": first,
        "free_task": second,
        "annotation": annotation,
        "prediction": prediction,
        "draft": draft,
        "import_job": job,
    }


def fill_ids(value, ids: dict):
    """Put the world's ids into a path or a JSON body; "{task}" alone becomes the integer id."""
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
            return ids[value[1:-1]]
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: fill_ids(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_ids(item, ids) for item in value]
    return value


def call(client, method: str, path: str, body):
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


def json_of(response):
    """The JSON body of a response, streamed (long lists, exports) or not."""
    if getattr(response, "streaming", False):
        return json.loads(b"".join(response.streaming_content))
    return response.json()
