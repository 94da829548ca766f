"""Training jobs run through the worker's service with the real runner subprocess: MiniLM fine-tuned end to
end on a dataset version built from a project (metrics and events stored, the model version registered
with its files), a runner that fails (the job fails with its reason, the worker carries on), a cancel
while the runner trains (the subprocess stopped, the job cancelled), and a run whose worker died (the
runner killed, the lease run out) that the reaper queues again and the next claim resumes from its
checkpoint."""

import json
import os
import signal
import threading

import pytest
from django.db import connection

from annotation.models import JobState, Prediction
from annotation.services.annotations import annotation_create
from exports.datasets import storage
from tessera.models import Membership
from tests.conftest import post_json
from tests.integration.conftest import publishing_to
from tests.training.training_job_support import (
    built_version,
    json_lines,
    labeled_project,
    launch_body,
    tiny_encoder_folder,
    wait_until,
)
from training.models import ModelVersion, Prelabeler, TrainingEvent, TrainingJob, TrainingMetric
from training.services.base_models import base_model_create, base_model_defaults_register
from training.services.model_versions import registry_root
from training.services.prelabel_jobs import prelabel_job_create, prelabel_job_run
from training.services.training_jobs import training_job_launch, training_jobs_reap
from training.services.training_runs import JobRun, TrainingLease, training_job_run

RUN_TIMEOUT = 240


@pytest.fixture(autouse=True)
def folders(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"
    settings.TESSERA_MODEL_ROOTS = [str(tmp_path / "models")]
    settings.TESSERA_TRAINING_HEARTBEAT_SECONDS = 1
    settings.TESSERA_TRAINING_CANCEL_GRACE_SECONDS = 5
    # The runner inherits the worker's environment: one torch thread, as the machine's cores are shared.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path


@pytest.fixture
def manager(cast):
    return Membership.objects.get(user=cast.users["manager"], organization=cast.org)


@pytest.fixture
def version(make_project, cast):
    return built_version(labeled_project(make_project, cast, count=30), cast.users["manager"])


@pytest.fixture
def tiny(cast, folders):
    folder = tiny_encoder_folder(folders / "models")
    return base_model_create(organization=cast.org, user=None, name="tiny-bert", path=str(folder))


def events_of(job: TrainingJob, source: str) -> list[str]:
    return list(
        TrainingEvent.objects.filter(job=job, source=source).order_by("id").values_list("kind", flat=True)
    )


@pytest.mark.django_db
def test_minilm_trains_end_to_end_and_its_model_version_is_registered(api, cast, manager, version, folders):
    minilm = base_model_defaults_register(organization=cast.org)
    job = training_job_launch(membership=manager, body=launch_body(version, minilm.pk))
    training_job_run(job.pk)

    job.refresh_from_db()
    assert job.state == JobState.COMPLETED, job.error
    assert (job.step, job.max_steps, job.attempts) == (6, 6, 1)
    assert job.lease_expires_at is None and job.finished_at is not None
    assert job.latest_metrics["loss"] > 0 and "learning_rate" in job.latest_metrics
    run_dir = folders / job.run_dir
    # Every line of the runner's files is a row, and the saved offsets are the files' ends.
    assert job.metrics_offset == (run_dir / "metrics.jsonl").stat().st_size
    assert job.events_offset == (run_dir / "events.jsonl").stat().st_size
    assert TrainingMetric.objects.filter(job=job).count() == len(json_lines(run_dir / "metrics.jsonl"))
    losses = list(TrainingMetric.objects.filter(job=job, values__has_key="loss").order_by("id"))
    assert [metric.step for metric in losses] == [1, 2, 3, 4, 5, 6]
    runner = events_of(job, "runner")
    assert runner[:2] == ["started", "train_begin"] and runner[-2:] == ["evaluated", "finished"]
    assert "checkpoint" in runner
    assert events_of(job, "worker") == ["created", "claimed", "runner_started", "completed"]
    # The run folder: the version's split files, the spec, the log; checkpoints removed after the success.
    assert sorted(path.name for path in (run_dir / "data").iterdir()) == [
        "manifest.jsonl", "test.jsonl", "train.jsonl", "validation.jsonl",
    ]  # fmt: skip
    spec = json.loads((run_dir / "spec.json").read_text())
    assert spec["base_model"] == minilm.path and spec["params"] == job.params
    assert spec["fsdp"] is False  # resources.strategy "ddp", the default
    assert (run_dir / "log.txt").stat().st_size > 0
    assert not (run_dir / "checkpoints").exists()

    model = ModelVersion.objects.get(job=job)
    assert (model.name, model.version) == (f"project-{version.project_id}-text_classification", "v1")
    assert (model.task_kind, model.recipe, model.base_model_name) == (
        "sequence_classification", "text_classification", "all-MiniLM-L6-v2",
    )  # fmt: skip
    assert model.metrics["accuracy"] >= 0 and "confusion_matrix" in model.metrics
    folder = registry_root() / model.name / model.version
    paths = {entry["path"] for entry in model.files}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= paths
    for entry in model.files:
        assert entry["bytes"] == (folder / entry["path"]).stat().st_size
        assert entry["sha256"] == storage.sha256_of(folder / entry["path"])
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".tmp")]
    assert model.lineage["dataset"] == version.pk
    assert model.lineage["dataset_manifest_sha256"] == version.manifest_sha256
    assert model.lineage["annotation_ids"] == version.counts["total"] == 30
    assert model.lineage["counts"] == version.counts and model.lineage["project"] == version.project_id

    detail = api("annotator").get(f"/api/training-jobs/{job.pk}/").json()
    assert detail["status"] == "completed" and detail["progress"] == 1.0
    assert detail["model_version"] == {"id": model.pk, "name": model.name, "version": "v1"}
    log = api("annotator").get(f"/api/training-jobs/{job.pk}/logs")
    assert log.status_code == 200 and b"".join(log.streaming_content)

    # The loop closes: promoted, the model pre-labels the project it was trained from.
    promoted = post_json(api("manager"), f"/api/models/{model.pk}/promote", {"project": version.project_id})
    assert promoted.status_code == 200, promoted.content
    prelabeler = Prelabeler.objects.get(pk=promoted.json()["prelabeler"])
    prelabel = prelabel_job_create(prelabeler=prelabeler, user=cast.users["manager"], tasks="all")
    prelabel_job_run(job_id=prelabel.pk)
    prelabel.refresh_from_db()
    assert (prelabel.state, prelabel.predictions_written) == ("completed", 30), prelabel.error
    picked = {
        prediction.result[0]["value"]["choices"][0]
        for prediction in Prediction.objects.filter(task__project_id=version.project_id)
    }
    assert picked <= {"Positive", "Negative", "Neutral"} and picked


@pytest.mark.django_db
def test_a_runner_that_fails_fails_the_job_with_its_reason(manager, version, tiny, folders):
    train = next(f for f in version.files if f["format"] == "text_classification" and f["split"] == "train")
    storage.resolve(train["path"]).write_text('{"text": "no label here"}\n', encoding="utf-8")
    job = training_job_launch(membership=manager, body=launch_body(version, tiny.pk))
    training_job_run(job.pk)  # returns: the worker carries on with its next task

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error["code"] == "runner_failed"
    assert "train row 1 has no label" in job.error["message"]
    assert events_of(job, "runner")[-1] == "failed"
    assert events_of(job, "worker")[-1] == "failed"
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_a_base_model_folder_gone_before_the_run_fails_it_before_training(manager, version, tiny, folders):
    job = training_job_launch(membership=manager, body=launch_body(version, tiny.pk))
    (folders / "models" / "tiny-bert" / "config.json").unlink()
    training_job_run(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.error["code"] == "base_model_gone"
    assert "runner_started" not in events_of(job, "worker")


@pytest.mark.django_db
def test_a_second_delivery_while_the_lease_is_live_does_nothing(manager, version, tiny):
    job = training_job_launch(membership=manager, body=launch_body(version, tiny.pk))
    lease = TrainingLease.take(job.pk)
    assert lease is not None
    training_job_run(job.pk)  # the broker delivered the message again: the lease says it is taken
    job.refresh_from_db()
    assert (job.state, job.attempts, job.lease_owner) == (JobState.IN_PROGRESS, 1, lease.owner)
    assert TrainingLease.take(job.pk) is None


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_running_runner(api, manager, version, tiny, folders):
    with publishing_to("memory://", {}):  # the launch's message goes nowhere: this test runs the job itself
        job = training_job_launch(membership=manager, body=launch_body(version, tiny.pk, max_steps=100_000))

    def work() -> None:
        try:
            training_job_run(job.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        events = folders / job.run_dir / "events.jsonl"
        wait_until(
            lambda: any(row["event"] == "train_begin" for row in json_lines(events)),
            timeout=RUN_TIMEOUT,
            what="the runner to start training",
        )
        response = post_json(api("manager"), f"/api/training-jobs/{job.pk}/cancel", {})
        assert response.status_code == 200 and response.json()["cancel_requested"] is True
        worker.join(timeout=60)
        assert not worker.is_alive()
    finally:
        if worker.is_alive():
            TrainingJob.objects.filter(pk=job.pk).update(cancel_requested=True)
            worker.join(timeout=60)

    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.finished_at is not None
    assert 0 < job.step < 100_000
    started = TrainingEvent.objects.get(job=job, kind="runner_started")
    with pytest.raises(ProcessLookupError):
        os.kill(started.details["pid"], 0)  # the runner is gone (and reaped)
    stopped = TrainingEvent.objects.get(job=job, kind="runner_stopped")
    assert stopped.details["exit_code"] in (-signal.SIGTERM, -signal.SIGKILL)
    assert events_of(job, "worker") == [
        "created", "claimed", "runner_started", "cancel_requested", "runner_stopped", "cancelled",
    ]  # fmt: skip
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_a_run_whose_worker_died_resumes_from_its_checkpoint_through_the_reaper(
    manager, version, tiny, folders, django_capture_on_commit_callbacks
):
    job = training_job_launch(
        membership=manager, body=launch_body(version, tiny.pk, max_steps=40, save_steps=4)
    )
    # The first worker: claims, starts the runner, and dies after the runner's first checkpoint.
    lease = TrainingLease.take(job.pk)
    assert lease is not None
    first = JobRun(lease)
    first.prepare()
    process = first.start()
    checkpoint = folders / job.run_dir / "checkpoints" / "checkpoint-4" / "trainer_state.json"
    wait_until(checkpoint.is_file, timeout=RUN_TIMEOUT, what="the first checkpoint")
    first.tick()  # a heartbeat stored what was written so far
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    losses_before = TrainingMetric.objects.filter(job=job, values__has_key="loss").count()
    assert losses_before >= 4

    # Its lease runs out; the reaper queues the job again.
    TrainingJob.objects.filter(pk=job.pk).update(lease_expires_at=lease_expired_at())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = training_jobs_reap()
    assert report.requeued == [job.pk] and len(callbacks) == 1
    job.refresh_from_db()
    assert (job.state, job.lease_owner) == (JobState.CREATED, "")

    # The next worker takes it and resumes.
    training_job_run(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.COMPLETED, job.error
    assert (job.attempts, job.step) == (2, 40)
    worker = events_of(job, "worker")
    assert worker.count("claimed") == 2 and "lease_expired" in worker and "resumed" in worker
    resumed = TrainingEvent.objects.get(job=job, source="runner", kind="resumed")
    assert "/checkpoints/checkpoint-" in resumed.details["checkpoint"]
    assert events_of(job, "runner").count("started") == 2
    # The resumed run logged the steps after its checkpoint.
    assert int(resumed.details["checkpoint"].rsplit("-", 1)[1]) >= 4
    steps = [m.step for m in TrainingMetric.objects.filter(job=job, values__has_key="loss").order_by("id")]
    # The dead run's lines past the checkpoint were dropped when the resumed run said where it went on
    # from, so the series has each step once, in order.
    assert steps == list(range(1, 41))
    assert ModelVersion.objects.filter(job=job).count() == 1


def lease_expired_at():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(seconds=1)


SFT_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <TextArea name="answer" toName="prompt"/>
</View>"""


@pytest.mark.django_db
def test_an_sft_job_completes_with_an_evaluation_project_of_its_answers(make_project, cast, manager, folders):
    from tests.training.runner_support import CHAT_TEXTS, tiny_llama

    prompts = [f"Question {number}: what is tile {number}?" for number in range(20)]
    project = make_project(SFT_CONFIG, tasks=[{"prompt": prompt} for prompt in prompts])
    for task in project.tasks.order_by("inner_id"):
        answer = f"Tile {task.inner_id} is a small piece of a mosaic."
        annotation_create(
            task=task,
            user=cast.users["annotator"],
            result=[
                {"from_name": "answer", "to_name": "prompt", "type": "textarea", "value": {"text": [answer]}}
            ],
        )
    version = built_version(project, cast.users["manager"], formats=("sft_chat",), stratify=False)
    folder = tiny_llama(folders / "models" / "tiny-llama", CHAT_TEXTS + prompts)
    llama = base_model_create(organization=cast.org, user=None, name="tiny-llama", path=str(folder))
    body = {
        **launch_body(version, llama.pk, max_new_tokens=4, generation_prompts=3),
        "recipe": "sft",
    }
    body["params"].pop("save_steps")
    job = training_job_launch(membership=manager, body={**body, "params": {**body["params"], "max_steps": 3}})
    training_job_run(job.pk)

    job.refresh_from_db()
    assert job.state == JobState.COMPLETED, job.error
    model = ModelVersion.objects.get(job=job)
    assert (model.task_kind, model.recipe) == ("causal_lm", "sft")
    assert model.evaluation_project is not None
    evaluation = model.evaluation_project
    assert evaluation.organization_id == cast.org.pk
    assert evaluation.tasks.count() == min(3, version.counts["splits"]["test"])
    assert "<Pairwise" in evaluation.label_config  # the base model answered too: a blind comparison
    assert events_of(job, "worker")[-1] == "evaluation_project"
