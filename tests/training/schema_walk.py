"""The pre-labeling endpoints driven through every answer their schema documents, for
tests/test_openapi_schema.py (which checks each answer against the schema and that none is left out)."""

from typing import Any

from annotation.models import JobState, Task
from tests.conftest import NER_CONFIG, SENTIMENT_CONFIG
from tests.training.backends import TEST_BACKENDS
from tests.training.conftest import ENTITY_RULES
from training.models import Prelabeler, PrelabelJob
from training.prelabelers.registry import BACKEND_CLASSES


def walk_prelabeling(call: Any, make_project: Any, monkeypatch: Any) -> None:
    for name, path in TEST_BACKENDS.items():
        monkeypatch.setitem(BACKEND_CLASSES, name, path)
    owner, manager, reviewer, annotator = call("owner"), call("manager"), call("reviewer"), call("annotator")
    outsider = call("outsider")
    project = make_project(NER_CONFIG, tasks=[{"text": "Acme Corp hired Jane Smith."}, {"text": "トヨタ"}])
    choices = make_project(SENTIMENT_CONFIG, tasks=[{"text": "Rates rose."}])
    task = Task.objects.filter(project=project).order_by("pk").first()
    choice_task = Task.objects.get(project=choices)
    assert task is not None
    project_url = f"/api/projects/{project.pk}/prelabelers/"

    annotator("get", project_url, expect=403)
    outsider("get", project_url, expect=404)
    annotator("post", project_url, {"backend": "span_rules"}, expect=403)
    outsider("post", project_url, {"backend": "span_rules"}, expect=404)
    manager("post", project_url, {"backend": "no_such"}, expect=400)
    made = manager("post", project_url, {"backend": "span_rules", "settings": ENTITY_RULES}, expect=201)
    reviewer("get", project_url, expect=200)
    url = f"/api/prelabelers/{made['id']}/"
    reviewer("get", url, expect=200)
    annotator("get", url, expect=403)
    outsider("get", url, expect=404)
    manager("patch", url, {"title": "Entities"}, expect=200)
    manager("patch", url, {"settings": {"rules": {"LOC": {}}}}, expect=400)
    reviewer("patch", url, {"title": "x"}, expect=403)
    outsider("patch", url, {"title": "x"}, expect=404)

    manager("post", f"{url}test/", {"task": task.pk}, expect=200)
    manager("post", f"{url}test/", {"task": "x"}, expect=400)
    reviewer("post", f"{url}test/", {"task": task.pk}, expect=403)
    outsider("post", f"{url}test/", {"task": task.pk}, expect=404)
    learning = Prelabeler.objects.create(project=choices, backend="test_majority", title="Majority")
    manager("post", f"/api/prelabelers/{learning.pk}/test/", {"task": choice_task.pk}, expect=409)
    failing = Prelabeler.objects.create(project=choices, backend="test_failing", title="Down")
    manager("post", f"/api/prelabelers/{failing.pk}/test/", {"task": choice_task.pk}, expect=502)

    job = manager("post", f"{url}jobs/", {"tasks": "all"}, expect=201)
    manager("post", f"{url}jobs/", {"tasks": "some"}, expect=400)
    reviewer("post", f"{url}jobs/", {}, expect=403)
    outsider("post", f"{url}jobs/", {}, expect=404)
    Prelabeler.objects.filter(pk=failing.pk).update(is_active=False)
    manager("post", f"/api/prelabelers/{failing.pk}/jobs/", {}, expect=409)
    job_url = f"/api/prelabel-jobs/{job['id']}/"
    reviewer("get", job_url, expect=200)
    annotator("get", job_url, expect=403)
    outsider("get", job_url, expect=404)
    jobs_url = f"/api/projects/{project.pk}/prelabel-jobs/"
    reviewer("get", jobs_url, expect=200)
    annotator("get", jobs_url, expect=403)
    outsider("get", jobs_url, expect=404)
    reviewer("post", f"{job_url}cancel/", expect=403)
    outsider("post", f"{job_url}cancel/", expect=404)
    manager("post", f"{job_url}cancel/", expect=200)
    PrelabelJob.objects.filter(pk=job["id"]).update(state=JobState.COMPLETED)
    owner("post", f"{job_url}cancel/", expect=409)

    reviewer("delete", url, expect=403)
    outsider("delete", url, expect=404)
    manager("delete", url, expect=204)
