"""The demo command: bounded, and done in one go whatever the count asked for."""

from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from annotation.demo_data import MAX_HEADLINES, headlines
from annotation.models import Project


def test_every_distinct_headline_can_be_made_and_no_more():
    rows = headlines(MAX_HEADLINES)

    texts = [row["data"]["text"] for row in rows]
    assert len(texts) == len(set(texts)) == MAX_HEADLINES
    with pytest.raises(ValueError, match=f"at most {MAX_HEADLINES}"):
        headlines(MAX_HEADLINES + 1)


def test_headlines_are_the_same_for_a_seed_and_balanced_across_sentiments():
    rows = headlines(300)

    assert rows == headlines(300)
    assert headlines(10) == rows[:10]
    counts = Counter(row["meta"]["template_sentiment"] for row in rows)
    assert counts == {"Positive": 100, "Negative": 100, "Neutral": 100}


@pytest.mark.django_db
@pytest.mark.parametrize("tasks", [0, MAX_HEADLINES + 1, 5000])
def test_demo_refuses_a_task_count_it_cannot_make(tasks):
    with pytest.raises(CommandError, match=f"between 1 and {MAX_HEADLINES}"):
        call_command("tessera_demo", "--tasks", str(tasks))
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_demo_with_the_largest_count_sets_up_the_project(capsys, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    call_command("tessera_demo", "--tasks", str(MAX_HEADLINES))

    project = Project.objects.get(title="Financial news sentiment")
    assert project.tasks.count() == MAX_HEADLINES
    assert f"{MAX_HEADLINES} tasks" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_demo_sets_up_pre_labelers_and_its_queued_job_pre_labels_every_task(settings):
    """The demo opens with suggestions: zero-shot pre-labels the tasks the moment the worker runs its job."""
    from annotation.models import JobState, Prediction
    from training.models import PrelabelJob
    from training.services.prelabel_jobs import prelabel_job_run

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("tessera_demo", "--tasks", "40")
    project = Project.objects.get(title="Financial news sentiment")
    assert sorted(project.prelabelers.values_list("backend", flat=True)) == [
        "embedding_classifier",
        "zero_shot",
    ]
    job = PrelabelJob.objects.get(project=project)
    assert (job.prelabeler.backend, job.state) == ("zero_shot", JobState.CREATED)

    prelabel_job_run(job_id=job.pk)  # what the demo's worker does with the queued message

    job.refresh_from_db()
    # A third of the tasks come labeled; the job pre-labels the others.
    assert project.tasks.filter(total_annotations=1).count() == 13
    assert (job.state, job.tasks_done, job.predictions_written) == (JobState.COMPLETED, 27, 27)
    labels = {
        result[0]["value"]["choices"][0]
        for result in Prediction.objects.filter(project=project).values_list("result", flat=True)
    }
    assert labels <= {"Positive", "Negative", "Neutral"} and len(labels) >= 2
    # Run again, the demo adds nothing twice.
    call_command("tessera_demo", "--tasks", "40")
    assert project.prelabelers.count() == 2 and PrelabelJob.objects.filter(project=project).count() == 1


@pytest.mark.django_db
def test_beat_gives_the_demos_classifier_its_first_fit(tmp_path, settings):
    """The MiniLM classifier learns from the demo's labels: beat's refit sweep queues its first job once
    the project holds ``prelabel_refit_every`` labels (it stayed unfitted while the sweep looked only
    at pre-labelers fitted before)."""
    from training.models import PrelabelJob
    from training.services.prelabel_jobs import prelabel_refit_sweep

    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"
    call_command("tessera_demo", "--tasks", "150")  # 50 come labeled: the default refit interval
    project = Project.objects.get(title="Financial news sentiment")
    classifier = project.prelabelers.get(backend="embedding_classifier")

    assert prelabel_refit_sweep().refits == [classifier.pk]
    job = PrelabelJob.objects.get(prelabeler=classifier)
    assert job.scope == {"tasks": "unlabeled", "refit": True}
    assert prelabel_refit_sweep().refits == []  # its job waits: no second one


@pytest.mark.django_db
def test_demo_labels_a_third_and_queues_a_dataset_version_ready_to_train(settings, tmp_path):
    from annotation.models import Annotation, JobState
    from exports.dataset_services import dataset_version_run
    from exports.models import DatasetVersion

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"
    call_command("tessera_demo", "--tasks", "90")
    project = Project.objects.get(title="Financial news sentiment")
    labels = Counter(
        annotation.result[0]["value"]["choices"][0]
        for annotation in Annotation.objects.filter(project=project)
    )
    assert labels == {"Positive": 10, "Negative": 10, "Neutral": 10}
    version = DatasetVersion.objects.get(project=project)
    assert (version.name, version.state) == ("Labeled headlines v1", JobState.CREATED)

    dataset_version_run(version_id=version.pk)  # what the demo's worker does with the queued message

    version.refresh_from_db()
    assert version.state == JobState.COMPLETED, version.error
    assert version.counts["total"] == 30
    assert {(entry["format"], entry["split"]) for entry in version.files} >= {
        ("text_classification", "train"), ("text_classification", "test"),
    }  # fmt: skip
    call_command("tessera_demo", "--tasks", "90")
    assert DatasetVersion.objects.filter(project=project).count() == 1
    assert Annotation.objects.filter(project=project).count() == 30
