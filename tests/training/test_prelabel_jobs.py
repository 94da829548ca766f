"""The job runner in this process: predictions written once per task and model version, counters kept,
resume after a crash, cancel between batches, bounded retries, answers off the config dropped, learning
backends fitted when the labels moved, the reaper, the refit sweep and the jobs after an import.
Real backends throughout (span rules, and the small ones of tests/training/backends.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.importing.parsers import to_task_item
from annotation.models import JobState, Prediction, Project, ReviewPolicy, Task
from annotation.services.annotations import annotation_create
from annotation.services.counters import counters_check
from annotation.services.imports import tasks_import
from annotation.services.leases import Lease
from annotation.services.review import review_create
from tessera.models import AuditEvent, Membership
from tests.conftest import choice
from tests.integration.conftest import publishing_to
from tests.training.conftest import ENTITY_RULES, ENTITY_TEXTS
from training.models import PrelabelJob
from training.prelabelers.base import BackendUnfit
from training.prelabelers.examples import labeled_count, labeled_examples
from training.services.prelabel_jobs import (
    prelabel_job_cancel,
    prelabel_job_create,
    prelabel_job_run,
    prelabel_jobs_reap,
    prelabel_refit_sweep,
)

pytestmark = pytest.mark.django_db


def run_job(prelabeler, user=None, **kwargs) -> PrelabelJob:
    job = prelabel_job_create(prelabeler=prelabeler, user=user, **kwargs)
    prelabel_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def counts(job: PrelabelJob) -> tuple:
    return (
        job.state,
        job.total,
        job.tasks_done,
        job.predictions_written,
        job.skipped,
        job.dropped,
        job.errors,
    )


def test_a_span_rules_job_writes_each_tasks_prediction_and_keeps_the_counters(
    labels_project, make_prelabeler, cast
):
    prelabeler = make_prelabeler(labels_project, "span_rules", ENTITY_RULES)

    job = run_job(prelabeler, cast.users["manager"], tasks="all")

    assert counts(job) == (JobState.COMPLETED, 4, 4, 4, 0, 0, 0), job.error
    assert job.model_version.startswith("span_rules:") and job.attempts == 1 and job.finished_at
    rows = {
        Task.objects.get(pk=task_id).data["text"]: (version, result)
        for task_id, version, result in Prediction.objects.filter(prelabeler=prelabeler).values_list(
            "task_id", "model_version", "result"
        )
    }
    assert {version for version, _result in rows.values()} == {job.model_version}
    found = {
        text: [(r["value"]["text"], r["value"]["labels"][0]) for r in result]
        for text, (_v, result) in rows.items()
    }
    assert found == {
        ENTITY_TEXTS[0]: [("Acme Corp", "ORG"), ("Jane Smith", "PER"), ("$5 million", "MONEY")],
        ENTITY_TEXTS[1]: [("トヨタ自動車", "ORG")],
        ENTITY_TEXTS[2]: [("Globex Inc", "ORG"), ("300万円", "MONEY"), ("山田太郎", "PER")],
        ENTITY_TEXTS[3]: [],
    }
    assert set(Task.objects.filter(project=labels_project).values_list("total_predictions", flat=True)) == {1}
    assert Project.objects.get(pk=labels_project.pk).prediction_total == 4
    assert counters_check().total == 0
    prelabeler.refresh_from_db()
    assert prelabeler.model_version == job.model_version
    assert AuditEvent.objects.filter(action="prelabel_job.complete", object_id=job.pk).exists()


def test_running_again_writes_nothing_twice(labels_project, make_prelabeler):
    prelabeler = make_prelabeler(labels_project, "span_rules", ENTITY_RULES)
    first = run_job(prelabeler, tasks="all")

    second = run_job(prelabeler, tasks="all")
    # The same job delivered again claims nothing.
    prelabel_job_run(job_id=first.pk)

    assert counts(second) == (JobState.COMPLETED, 4, 4, 0, 4, 0, 0)
    assert Prediction.objects.filter(prelabeler=prelabeler).count() == 4
    assert Project.objects.get(pk=labels_project.pk).prediction_total == 4
    assert counters_check().total == 0
    # New rules are a new model version: every task gets its prediction of it.
    prelabeler.settings = {**prelabeler.settings, "case_sensitive": True}
    prelabeler.save()
    third = run_job(prelabeler, tasks="all")
    assert counts(third)[3] == 4 and third.model_version != first.model_version


def test_a_prediction_written_meanwhile_by_another_worker_is_not_written_again(
    choices_project, make_prelabeler, test_backends
):
    prelabeler = make_prelabeler(choices_project, "test_raced")

    job = run_job(prelabeler, tasks="all")

    # Each batch of two: its first task was written by the other worker, the second by this job.
    assert counts(job) == (JobState.COMPLETED, 6, 6, 3, 3, 0, 0)
    assert Prediction.objects.count() == Prediction.objects.values("task_id").distinct().count() == 6
    assert counters_check().total == 0


def test_a_job_resumes_after_the_last_task_it_finished(labels_project, make_prelabeler):
    prelabeler = make_prelabeler(labels_project, "span_rules", ENTITY_RULES)
    ids = list(Task.objects.filter(project=labels_project).order_by("pk").values_list("pk", flat=True))
    job = prelabel_job_create(prelabeler=prelabeler, user=None, tasks="all")
    # What a worker that finished two tasks and then died leaves behind: its lease runs out.
    Lease.claim(PrelabelJob, job.pk)
    PrelabelJob.objects.filter(pk=job.pk).update(
        last_task_id=ids[1], tasks_done=2, total=4, lease_expires_at=timezone.now() - timedelta(seconds=1)
    )

    prelabel_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.attempts, job.tasks_done, job.predictions_written, job.total) == (
        JobState.COMPLETED, 2, 4, 2, 4,
    )  # fmt: skip
    assert (
        sorted(Prediction.objects.filter(prelabeler=prelabeler).values_list("task_id", flat=True)) == ids[2:]
    )


def test_cancel_stops_the_job_between_batches(choices_project, make_prelabeler, test_backends):
    prelabeler = make_prelabeler(choices_project, "test_cancelled_midway")

    job = run_job(prelabeler, tasks="all")

    # The batch in flight is written; the next one is never started.
    assert (job.state, job.tasks_done, job.predictions_written) == (JobState.CANCELLED, 2, 2)
    assert Prediction.objects.filter(prelabeler=prelabeler).count() == 2 and job.finished_at


def test_a_waiting_job_is_cancelled_at_once_and_never_runs(
    choices_project, make_prelabeler, test_backends, cast
):
    prelabeler = make_prelabeler(choices_project, "test_first_choice")
    job = prelabel_job_create(prelabeler=prelabeler, user=None)

    prelabel_job_cancel(job=job, user=cast.users["manager"])
    prelabel_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.CANCELLED, 0)
    assert not Prediction.objects.exists()


def test_a_batch_that_fails_every_time_fails_the_job_after_its_tries(
    choices_project, make_prelabeler, test_backends, settings
):
    settings.TESSERA_PRELABEL_BATCH_TRIES = 3
    prelabeler = make_prelabeler(choices_project, "test_failing")

    job = run_job(prelabeler, tasks="all")

    assert (job.state, job.errors, job.tasks_done) == (JobState.FAILED, 3, 0)
    assert job.error["code"] == "batch_failed"
    assert "failed 3 times" in job.error["message"] and "the model server is down" in job.error["message"]
    assert not Prediction.objects.exists()
    assert counters_check().total == 0


def test_a_batch_that_fails_once_is_tried_again(choices_project, make_prelabeler, test_backends):
    prelabeler = make_prelabeler(choices_project, "test_flaky")

    job = run_job(prelabeler, tasks="all")

    assert counts(job) == (JobState.COMPLETED, 6, 6, 6, 0, 0, 1)


def test_answers_that_do_not_fit_the_config_are_dropped_and_counted(
    choices_project, make_prelabeler, test_backends
):
    prelabeler = make_prelabeler(choices_project, "test_off_config")

    job = run_job(prelabeler, tasks="all")

    assert counts(job) == (JobState.COMPLETED, 6, 6, 0, 0, 6, 0)
    assert not Prediction.objects.exists()


def test_uncertainty_and_scores_are_written(choices_project, make_prelabeler, test_backends):
    prelabeler = make_prelabeler(choices_project, "test_first_choice")

    run_job(prelabeler, tasks="all")

    for text, uncertainty in Task.objects.filter(project=choices_project).values_list(
        "data__text", "uncertainty"
    ):
        assert uncertainty == pytest.approx(len(text) / 100)
    assert set(Prediction.objects.values_list("score", flat=True)) == {0.8}


def test_scopes_unlabeled_ids_and_filter(choices_project, make_prelabeler, test_backends, cast):
    prelabeler = make_prelabeler(choices_project, "test_first_choice")
    tasks = list(Task.objects.filter(project=choices_project).order_by("pk"))
    annotation_create(task=tasks[0], user=cast.users["annotator"], result=choice("Positive"))

    unlabeled = run_job(prelabeler)
    assert (unlabeled.scope, unlabeled.total, unlabeled.predictions_written) == (
        {"tasks": "unlabeled", "refit": False}, 5, 5,
    )  # fmt: skip
    assert not Prediction.objects.filter(task=tasks[0]).exists()
    listed = run_job(prelabeler, tasks=[tasks[0].pk, tasks[1].pk])
    assert (listed.total, listed.predictions_written, listed.skipped) == (2, 1, 1)
    needle = {"filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:data.text", "operator": "contains", "type": "String", "value": "bank"}]}}  # fmt: skip
    filtered = run_job(prelabeler, tasks={"filter": needle}, refit=False)
    assert (filtered.total, filtered.tasks_done, filtered.skipped) == (2, 2, 2)


def test_a_learning_backend_fits_first_and_again_only_when_the_labels_moved(
    choices_project, make_prelabeler, test_backends, cast
):
    from tests.training.backends import Majority

    prelabeler = make_prelabeler(choices_project, "test_majority")
    tasks = list(Task.objects.filter(project=choices_project).order_by("pk"))

    nothing_to_learn = run_job(prelabeler)
    assert nothing_to_learn.state == JobState.FAILED and nothing_to_learn.error["code"] == "backend_unfit"

    annotation_create(task=tasks[0], user=cast.users["annotator"], result=choice("Negative"))
    annotation_create(task=tasks[1], user=cast.users["annotator"], result=choice("Negative"))
    first = run_job(prelabeler)
    prelabeler.refresh_from_db()
    assert first.state == JobState.COMPLETED, first.error
    assert (first.model_version, prelabeler.model_version) == ("majority:2:Negative", "majority:2:Negative")
    assert (prelabeler.fitted_examples, prelabeler.fit_info) == (2, {"counts": {"Negative": 2}})
    assert first.predictions_written == 4 and Majority.fits == [2]

    again = run_job(prelabeler)
    assert Majority.fits == [2] and again.model_version == first.model_version and again.skipped == 4

    annotation_create(task=tasks[2], user=cast.users["annotator"], result=choice("Positive"))
    moved = run_job(prelabeler)
    assert Majority.fits == [2, 3] and moved.model_version == "majority:3:Negative"
    asked = run_job(prelabeler, refit=True)
    assert Majority.fits == [2, 3, 3]
    assert asked.state == JobState.COMPLETED


def test_labeled_examples_follow_review(choices_project, cast):
    # Two answers a task.
    Project.objects.filter(pk=choices_project.pk).update(maximum_annotations=2)
    tasks = list(Task.objects.filter(project=choices_project).order_by("pk"))
    reviewer = Membership.objects.get(user=cast.users["reviewer"], organization=cast.org)
    first = annotation_create(task=tasks[0], user=cast.users["annotator"], result=choice("Positive"))
    annotation_create(task=tasks[0], user=cast.users["annotator2"], result=choice("Negative"))
    second = annotation_create(task=tasks[1], user=cast.users["annotator"], result=choice("Neutral"))
    third = annotation_create(task=tasks[2], user=cast.users["annotator"], result=choice("Neutral"))
    annotation_create(task=tasks[3], user=cast.users["annotator"], result=[], was_cancelled=True)
    manager = Membership.objects.get(user=cast.users["manager"], organization=cast.org)
    annotation_create(
        task=tasks[4],
        user=cast.users["manager"],
        result=choice("Negative"),
        ground_truth=True,
        membership=manager,
    )

    # Nothing reviewed: every submitted answer, the latest per task, gold first.
    examples = labeled_examples(choices_project)
    assert [(e.task_id, e.result[0]["value"]["choices"]) for e in examples] == [
        (tasks[4].pk, ["Negative"]), (tasks[0].pk, ["Negative"]), (tasks[1].pk, ["Neutral"]), (tasks[2].pk, ["Neutral"]),
    ]  # fmt: skip
    assert labeled_count(choices_project) == 4 and examples[0].data == tasks[4].data

    # Review started, every task reviewed: the accepted answer, a fix's correction, and gold only.
    review_create(annotation=first, reviewer=cast.users["reviewer"], membership=reviewer, verdict="accept")
    review_create(
        annotation=second, reviewer=cast.users["reviewer"], membership=reviewer, verdict="fix",
        result=choice("Positive"),
    )  # fmt: skip
    review_create(annotation=third, reviewer=cast.users["reviewer"], membership=reviewer, verdict="reject")
    examples = labeled_examples(choices_project)
    assert [(e.task_id, e.result[0]["value"]["choices"]) for e in examples] == [
        (tasks[4].pk, ["Negative"]), (tasks[0].pk, ["Positive"]), (tasks[1].pk, ["Positive"]),
    ]  # fmt: skip
    assert labeled_count(choices_project) == 3

    # A sampled review leaves tasks unreviewed for good: every answer but the rejected ones.
    Project.objects.filter(pk=choices_project.pk).update(review_policy=ReviewPolicy.SAMPLE)
    choices_project.refresh_from_db()
    assert [e.task_id for e in labeled_examples(choices_project)] == [tasks[4].pk, tasks[0].pk, tasks[1].pk]
    annotation_create(task=tasks[5], user=cast.users["annotator"], result=choice("Neutral"))
    assert labeled_count(choices_project) == len(labeled_examples(choices_project)) == 4


def test_the_reaper_requeues_fails_and_cancels_jobs_whose_lease_ran_out(
    choices_project, make_prelabeler, test_backends, settings
):
    settings.TESSERA_JOB_MAX_ATTEMPTS = 2
    prelabeler = make_prelabeler(choices_project, "test_first_choice")
    lost, given_up, cancelled, live = (
        prelabel_job_create(prelabeler=prelabeler, user=None) for _ in range(4)
    )
    for job in (lost, given_up, cancelled, live):
        Lease.claim(PrelabelJob, job.pk)
    past = timezone.now() - timedelta(seconds=1)
    PrelabelJob.objects.filter(pk__in=[lost.pk, given_up.pk, cancelled.pk]).update(lease_expires_at=past)
    PrelabelJob.objects.filter(pk=given_up.pk).update(attempts=2)
    PrelabelJob.objects.filter(pk=cancelled.pk).update(cancel_requested=True)

    with publishing_to("memory://"):
        report = prelabel_jobs_reap()

    assert (report.requeued, report.failed, report.cancelled) == ([lost.pk], [given_up.pk], [cancelled.pk])
    states = dict(PrelabelJob.objects.values_list("pk", "state"))
    assert states == {lost.pk: JobState.CREATED, given_up.pk: JobState.FAILED, cancelled.pk: JobState.CANCELLED,
                      live.pk: JobState.IN_PROGRESS}  # fmt: skip
    assert PrelabelJob.objects.get(pk=given_up.pk).error["code"] == "worker_lost"
    prelabel_job_run(job_id=lost.pk)
    assert PrelabelJob.objects.get(pk=lost.pk).state == JobState.COMPLETED


def test_the_sweep_refits_after_enough_new_labels_once(choices_project, make_prelabeler, test_backends, cast):
    Project.objects.filter(pk=choices_project.pk).update(prelabel_refit_every=2)
    prelabeler = make_prelabeler(choices_project, "test_majority")
    tasks = list(Task.objects.filter(project=choices_project).order_by("pk"))
    annotation_create(task=tasks[0], user=cast.users["annotator"], result=choice("Negative"))
    run_job(prelabeler)
    annotation_create(task=tasks[1], user=cast.users["annotator"], result=choice("Negative"))

    assert prelabel_refit_sweep().refits == []  # one new label: not yet

    annotation_create(task=tasks[2], user=cast.users["annotator"], result=choice("Positive"))
    assert prelabel_refit_sweep().refits == [prelabeler.pk]
    assert prelabel_refit_sweep().refits == []  # its job waits: no second one
    job = PrelabelJob.objects.filter(prelabeler=prelabeler).latest("pk")
    assert job.scope == {"tasks": "unlabeled", "refit": True} and job.state == JobState.CREATED


def test_the_sweep_gives_a_never_fitted_learning_pre_labeler_its_first_job(
    choices_project, make_prelabeler, test_backends, cast
):
    # The demo's MiniLM classifier stayed unfitted with 100 labels: the sweep looked at fitted ones only.
    Project.objects.filter(pk=choices_project.pk).update(prelabel_refit_every=2)
    learner = make_prelabeler(choices_project, "test_majority")
    make_prelabeler(choices_project, "test_first_choice")  # learns nothing: never swept
    tasks = list(Task.objects.filter(project=choices_project).order_by("pk"))
    annotation_create(task=tasks[0], user=cast.users["annotator"], result=choice("Negative"))
    assert prelabel_refit_sweep().refits == []  # one label: not yet

    annotation_create(task=tasks[1], user=cast.users["annotator"], result=choice("Negative"))
    assert prelabel_refit_sweep().refits == [learner.pk]
    job = PrelabelJob.objects.get(prelabeler=learner)
    prelabel_job_run(job_id=job.pk)
    learner.refresh_from_db()
    assert (learner.fitted_examples, learner.model_version) == (2, "majority:2:Negative")
    assert prelabel_refit_sweep().refits == []


def test_a_failed_first_fit_waits_for_new_labels_before_the_sweep_tries_again(
    choices_project, make_prelabeler, test_backends, cast, monkeypatch
):
    from tests.training.backends import Majority

    Project.objects.filter(pk=choices_project.pk).update(prelabel_refit_every=2)
    learner = make_prelabeler(choices_project, "test_majority")
    tasks = list(Task.objects.filter(project=choices_project).order_by("pk"))
    for task in tasks[:2]:
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Negative"))
    real_fit = Majority.fit

    def unfit(self, examples):
        raise BackendUnfit("needs two classes", field="backend")

    monkeypatch.setattr(Majority, "fit", unfit)
    assert prelabel_refit_sweep().refits == [learner.pk]
    prelabel_job_run(job_id=PrelabelJob.objects.get(prelabeler=learner).pk)
    learner.refresh_from_db()
    assert learner.fitted_at is None
    assert learner.fit_info == {"state": "failed", "error_message": "needs two classes", "labels": 2}
    assert prelabel_refit_sweep().refits == []  # the same labels would fail the same way

    monkeypatch.setattr(Majority, "fit", real_fit)
    annotation_create(task=tasks[2], user=cast.users["annotator"], result=choice("Positive"))
    assert prelabel_refit_sweep().refits == []
    annotation_create(task=tasks[3], user=cast.users["annotator"], result=choice("Positive"))
    assert prelabel_refit_sweep().refits == [learner.pk]


def test_an_import_is_pre_labeled_by_the_pre_labelers_that_ask_for_it(
    labels_project, make_prelabeler, cast, django_capture_on_commit_callbacks
):
    on_import = make_prelabeler(labels_project, "span_rules", ENTITY_RULES, run_on_import=True)
    make_prelabeler(labels_project, "span_rules", ENTITY_RULES, run_on_import=False)
    before = set(Task.objects.filter(project=labels_project).values_list("pk", flat=True))

    items = [to_task_item({"text": "Acme hired 山田太郎."}, 0), to_task_item({"text": "Nothing."}, 1)]
    with publishing_to("memory://"), django_capture_on_commit_callbacks(execute=True):
        tasks_import(project=labels_project, user=cast.users["manager"], items=items)

    (job,) = PrelabelJob.objects.all()
    assert job.prelabeler == on_import and job.scope["tasks"] == {
        "import": {"first_inner_id": 5, "last_inner_id": 6}
    }
    prelabel_job_run(job_id=job.pk)
    job.refresh_from_db()
    new = set(Task.objects.filter(project=labels_project).values_list("pk", flat=True)) - before
    assert (job.state, job.total, job.predictions_written) == (JobState.COMPLETED, 2, 2)
    assert set(Prediction.objects.values_list("task_id", flat=True)) == new


def test_an_import_into_a_project_without_pre_labelers_starts_nothing(
    labels_project, cast, django_capture_on_commit_callbacks, django_assert_num_queries
):
    items = [to_task_item({"text": "Acme."}, 0)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tasks_import(project=labels_project, user=cast.users["manager"], items=items)
    prelabel = [callback for callback in callbacks if "_jobs_for_import" in repr(callback)]
    assert len(prelabel) == 1
    # After the commit: one indexed query, and no job.
    with django_assert_num_queries(1):
        prelabel[0]()
    assert not PrelabelJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_keeps_the_lease_of_a_batch_that_outlasts_it(
    choices_project, make_prelabeler, test_backends, settings
):
    from tests.training.backends import OutlastsItsLease

    settings.TESSERA_JOB_LEASE_SECONDS = 2
    OutlastsItsLease.reaped.clear()
    prelabeler = make_prelabeler(choices_project, "test_outlasts_its_lease")

    with publishing_to("memory://"):
        job = run_job(prelabeler, tasks="all")

    # The reaper ran 2.5 s into a batch with a 2 s lease and found it renewed by the heartbeat thread.
    assert OutlastsItsLease.reaped == [[]]
    assert (job.state, job.attempts, job.predictions_written) == (JobState.COMPLETED, 1, 6), job.error
