"""Launching training jobs through the API: every bad input a 400 naming its field, roles (403), another
organization's objects (404 for jobs, a 400 naming the field for a dataset or base model in the body);
the job object, list, metrics, logs and cancel, with their query counts pinned."""

import shutil
from datetime import UTC, datetime

import pytest

from annotation.models import JobState
from exports.dataset_services import dataset_version_create
from tessera.models import AuditEvent, Membership
from tests.conftest import post_json
from tests.training.training_job_support import (
    built_version,
    labeled_project,
    launch_body,
    tiny_encoder_folder,
)
from training.models import TrainingEvent, TrainingJob, TrainingMetric
from training.services.base_models import base_model_create, base_model_defaults_register
from training.services.training_jobs import training_job_launch

pytestmark = pytest.mark.django_db

URL = "/api/training-jobs/"


@pytest.fixture(autouse=True)
def folders(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"
    settings.TESSERA_MODEL_ROOTS = [str(tmp_path / "models")]
    return tmp_path


@pytest.fixture
def project(make_project, cast):
    return labeled_project(make_project, cast, count=30)


@pytest.fixture
def version(project, cast):
    return built_version(project, cast.users["manager"])


@pytest.fixture
def minilm(cast):
    return base_model_defaults_register(organization=cast.org)


@pytest.fixture
def manager_membership(cast):
    return Membership.objects.get(user=cast.users["manager"], organization=cast.org)


def launched(membership, version, base_model) -> TrainingJob:
    return training_job_launch(membership=membership, body=launch_body(version, base_model.pk))


def test_a_manager_launches_a_job_with_everything_the_run_needs(api, cast, version, minilm):
    response = post_json(api("manager"), URL, {**launch_body(version, minilm.pk), "name": "first try"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == body["state"] == "created"
    assert (body["project"], body["dataset"], body["dataset_name"]) == (
        version.project_id,
        version.pk,
        version.name,
    )
    assert (body["base_model"], body["base_model_name"]) == (minilm.pk, "all-MiniLM-L6-v2")
    # Defaults filled in beside what was sent.
    assert body["params"]["max_steps"] == 6 and body["params"]["learning_rate"] == 5e-5
    assert body["resources"] == {"gpus": 1, "gpu_type": "H100", "strategy": "ddp"}
    assert body["estimate"]["dataset_counts"]["splits"] == version.counts["splits"]
    assert body["estimate"]["parameters"] == minilm.parameters and body["estimate"]["flops"] > 0
    assert body["model_version"] is None and body["error"] is None and body["progress"] == 0.0
    assert body["created_by"]["email"] == cast.users["manager"].email
    assert [event["kind"] for event in body["events"]] == ["created"]
    job = TrainingJob.objects.get(pk=body["id"])
    assert job.dataset_manifest_sha256 == version.manifest_sha256 != ""
    assert job.base_model_path == minilm.path and job.run_dir == f"training/jobs/{job.pk}"
    audit = AuditEvent.objects.get(action="training_job.create", object_id=job.pk)
    assert audit.details["name"] == "first try" and audit.details["dataset"] == version.pk


def test_a_sharded_launch_keeps_its_strategy_and_its_estimate_splits_the_states(api, version, minilm):
    replicated = post_json(api("manager"), "/api/training-jobs/estimate",
                           {**launch_body(version, minilm.pk), "resources": {"gpus": 4}})  # fmt: skip
    response = post_json(
        api("manager"), URL, {**launch_body(version, minilm.pk), "resources": {"gpus": 4, "strategy": "fsdp"}}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["resources"] == {"gpus": 4, "gpu_type": "H100", "strategy": "fsdp"}
    whole, sharded = replicated.json()["memory"], body["estimate"]["memory"]
    assert (whole["sharded_over"], sharded["sharded_over"]) == (1, 4)
    assert sharded["optimizer_bytes"] * 4 >= whole["optimizer_bytes"] > sharded["optimizer_bytes"]


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_only_managers_and_above_launch(api, role, version, minilm):
    response = post_json(api(role), URL, launch_body(version, minilm.pk))
    assert response.status_code == 403
    assert not TrainingJob.objects.exists()


def _bad(api, body, field, code=None):
    response = post_json(api("manager"), URL, body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == field, error
    if code is not None:
        assert error["code"] == code, error
    assert not TrainingJob.objects.exists()
    return error


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"params": {"max_steps": 0}}, "params.max_steps"),
        ({"params": {"learning_rate": "fast"}}, "params.learning_rate"),
        ({"params": {"colour": "blue"}}, "params.colour"),
        ({"resources": {"gpus": 0}}, "resources.gpus"),
        ({"resources": {"gpus": 2, "gpu_type": "TPU"}}, "resources.gpu_type"),
        ({"resources": {"gpus": 2, "strategy": "deepspeed"}}, "resources.strategy"),
        ({"resources": {"strategy": "fsdp"}}, "resources.strategy"),  # one GPU: nothing to shard over
        ({"recipe": "magic"}, "recipe"),
        ({"colour": "blue"}, "colour"),
        ({"name": 5}, "name"),
        ({"dataset": None}, "dataset"),
        ({"dataset": "one"}, "dataset"),
        ({"dataset": 10**9}, "dataset"),
        ({"base_model": None}, "base_model"),
        ({"base_model": 10**9}, "base_model"),
    ],
)
def test_each_bad_input_is_a_400_naming_its_field(api, version, minilm, change, field):
    _bad(api, {**launch_body(version, minilm.pk), **change}, field)


def test_a_version_not_built_yet_is_not_ready(api, cast, project, minilm):
    waiting = dataset_version_create(
        project=project, user=cast.users["manager"], body={"formats": ["text_classification"]}
    )
    _bad(api, launch_body(waiting, minilm.pk), "dataset", "not_ready")


def test_a_version_without_the_recipes_format_is_the_wrong_shape(api, cast, project, minilm):
    records = built_version(project, cast.users["manager"], formats=("jsonl",))
    error = _bad(api, launch_body(records, minilm.pk), "dataset", "wrong_shape")
    assert "text_classification" in error["message"] and "jsonl" in error["message"]


def test_a_version_without_a_train_split_is_the_wrong_shape(api, cast, project, minilm):
    version = built_version(project, cast.users["manager"], splits={"test": 1.0}, stratify=False)
    _bad(api, launch_body(version, minilm.pk), "dataset", "wrong_shape")


def test_another_organizations_dataset_and_base_model_are_not_found(api, cast, make_project, version, minilm):
    theirs = labeled_project(make_project, cast, count=12, org=cast.other_org)
    their_version = built_version(theirs, cast.users["outsider"])
    _bad(api, launch_body(their_version, minilm.pk), "dataset", "not_found")
    their_model = base_model_defaults_register(organization=cast.other_org)
    _bad(api, launch_body(version, their_model.pk), "base_model")


def test_a_base_model_whose_folder_is_gone_is_refused(api, cast, folders, version):
    folder = tiny_encoder_folder(folders / "models")
    model = base_model_create(organization=cast.org, user=None, name="tiny", path=str(folder))
    shutil.rmtree(folder)
    error = _bad(api, launch_body(version, model.pk), "base_model")
    assert "tiny" in error["message"]


def test_a_base_model_of_the_wrong_kind_is_refused(api, cast, version, minilm):
    body = {**launch_body(version, minilm.pk), "recipe": "sft", "params": {}}
    _bad(api, body, "base_model")


def test_another_organizations_job_is_a_404(api, cast, make_project):
    theirs = labeled_project(make_project, cast, count=12, org=cast.other_org)
    their_version = built_version(theirs, cast.users["outsider"])
    their_model = base_model_defaults_register(organization=cast.other_org)
    outsider = Membership.objects.get(user=cast.users["outsider"], organization=cast.other_org)
    job = launched(outsider, their_version, their_model)
    client = api("owner")
    for path in ("", "metrics/", "logs"):
        assert client.get(f"{URL}{job.pk}/{path}").status_code == 404
    assert client.post(f"{URL}{job.pk}/cancel").status_code == 404
    assert client.get(URL, {"project": theirs.pk}).status_code == 404
    assert api("outsider").get(f"{URL}{job.pk}/").status_code == 200


def test_the_list_and_the_detail_cost_the_same_queries_for_one_job_or_many(
    api, version, minilm, manager_membership, django_assert_num_queries
):
    client = api("annotator")  # every member reads jobs
    first = launched(manager_membership, version, minilm)
    client.get(URL)  # the caller's membership is cached after a first request
    # The caller, the project, the count, the page of jobs with everything an item shows joined in.
    with django_assert_num_queries(4):
        one = client.get(URL, {"project": version.project_id})
    for _ in range(3):
        launched(manager_membership, version, minilm)
    with django_assert_num_queries(4):
        many = client.get(URL, {"project": version.project_id})
    assert one.json()["count"] == 1 and many.json()["count"] == 4
    assert [job["id"] for job in many.json()["results"]][-1] == first.pk
    assert "events" not in many.json()["results"][0]
    for index in range(60):
        TrainingEvent.objects.create(job=first, time=datetime.now(tz=UTC), kind=f"e{index}")
    # The caller, the job with its dataset, base model, creator and model version, the events.
    with django_assert_num_queries(3):
        detail = client.get(f"{URL}{first.pk}/")
    events = detail.json()["events"]
    assert len(events) == 50 and events[-1]["kind"] == "e59" and events[0]["kind"] == "e10"


def test_the_metric_series_reads_on_after_an_id(api, version, minilm, manager_membership):
    job = launched(manager_membership, version, minilm)
    now = datetime.now(tz=UTC)
    rows = [
        TrainingMetric.objects.create(job=job, step=step, time=now, values={"loss": 1.0 / step, "epoch": 0.1})
        for step in (1, 2, 3)
    ]
    TrainingMetric.objects.create(job=job, step=3, time=now, values={"eval_loss": 0.5})
    client = api("reviewer")
    body = client.get(f"{URL}{job.pk}/metrics/").json()
    assert body["job"] == job.pk and len(body["metrics"]) == 4
    assert body["metrics"][0] == {
        "id": rows[0].pk,
        "step": 1,
        "time": now.isoformat(),
        "loss": 1.0,
        "epoch": 0.1,
    }
    assert body["names"] == ["epoch", "eval_loss", "loss"]
    later = client.get(f"{URL}{job.pk}/metrics/", {"after": rows[1].pk}).json()
    assert [metric["step"] for metric in later["metrics"]] == [3, 3]
    bad = client.get(f"{URL}{job.pk}/metrics/", {"after": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "after"


def test_the_log_is_a_text_download_once_there_is_one(api, folders, version, minilm, manager_membership):
    job = launched(manager_membership, version, minilm)
    client = api("annotator")
    assert client.get(f"{URL}{job.pk}/logs").status_code == 404
    folder = folders / job.run_dir
    folder.mkdir(parents=True)
    (folder / "log.txt").write_text("step 1\nstep 2 ✓\n", encoding="utf-8")
    response = client.get(f"{URL}{job.pk}/logs")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="training-job-{job.pk}.log"'
    assert b"".join(response.streaming_content).decode() == "step 1\nstep 2 ✓\n"


def test_cancel_a_queued_job_at_once_and_a_finished_one_is_a_409(api, version, minilm, manager_membership):
    job = launched(manager_membership, version, minilm)
    assert api("annotator").post(f"{URL}{job.pk}/cancel").status_code == 403
    response = api("manager").post(f"{URL}{job.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["cancel_requested"] is True
    assert api("manager").post(f"{URL}{job.pk}/cancel").status_code == 200  # asking again is harmless
    assert AuditEvent.objects.filter(action="training_job.cancel", object_id=job.pk).count() == 1
    done = launched(manager_membership, version, minilm)
    TrainingJob.objects.filter(pk=done.pk).update(state=JobState.COMPLETED)
    finished = api("manager").post(f"{URL}{done.pk}/cancel")
    assert finished.status_code == 409 and finished.json()["error"]["code"] == "finished"


def test_cancel_of_a_running_job_asks_its_worker(api, version, minilm, manager_membership):
    job = launched(manager_membership, version, minilm)
    TrainingJob.objects.filter(pk=job.pk).update(state=JobState.IN_PROGRESS)
    body = api("admin").post(f"{URL}{job.pk}/cancel").json()
    assert body["status"] == "in_progress" and body["cancel_requested"] is True
    assert body["events"][-1]["kind"] == "cancel_requested"
