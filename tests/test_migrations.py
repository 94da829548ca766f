"""Upgrades: every migration runs on a database filled by an earlier release, with its data in place.

For each state a release has shipped (annotation 0002, 0003, 0004), the test migrates the
database back to it, fills it through that state's own models (projects with and without
tasks, annotations, predictions, import jobs finished and in flight), migrates forward to
the newest migration of every app, and checks the rows and the counters the migrations
fill. Runs on PostgreSQL and SQLite alike (django-test-migrations' ``migrator``).
"""

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

# Data written here through older models, beside the services: the dashboard's totals are checked by
# the test of the migration that fills them, not after each test.
pytestmark = pytest.mark.totals_unchecked

RELEASED_STATES = [
    "0002_initial",  # the first release: models and their foreign keys
    "0003_annotation_skip_reason",
    "0004_project_totals_import_first_task",
]


def _newest_migrations() -> list[tuple[str, str]]:
    # Leaf nodes, not names written here: a migration added later is part of the upgrade too.
    return sorted(MigrationLoader(connection).graph.leaf_nodes())


def _fill(apps) -> dict:
    """What a release's users leave behind: written through that release's models."""
    Organization = apps.get_model("tessera", "Organization")
    User = apps.get_model("tessera", "User")
    Membership = apps.get_model("tessera", "Membership")
    Project = apps.get_model("annotation", "Project")
    Task = apps.get_model("annotation", "Task")
    Annotation = apps.get_model("annotation", "Annotation")
    Prediction = apps.get_model("annotation", "Prediction")
    ImportJob = apps.get_model("annotation", "ImportJob")

    organization = Organization.objects.create(title="Upgraded Org")
    user = User.objects.create(email="owner@upgrade.test", password="!")
    Membership.objects.create(organization=organization, user=user, role="owner")
    config = '<View><Text name="text" value="$text"/></View>'
    labeled = Project.objects.create(organization=organization, title="Labeled", label_config=config, task_counter=3,
                                     task_count=3, created_by=user)  # fmt: skip
    # The shape that stopped 0004 as released: a project without tasks.
    Project.objects.create(organization=organization, title="Empty", label_config=config, created_by=user)
    Project.objects.create(organization=organization, title="Also empty", label_config=config)
    totals = [(2, 1), (0, 0), (1, 2)]
    for inner_id, (annotations, predictions) in enumerate(totals, start=1):
        task = Task.objects.create(project=labeled, data={"text": f"t{inner_id}"}, inner_id=inner_id,
                                   total_annotations=annotations, total_predictions=predictions,
                                   is_labeled=annotations > 0)  # fmt: skip
        for _ in range(annotations):
            Annotation.objects.create(task=task, project=labeled, completed_by=user, result=[], lead_time=1.5)
        for index in range(predictions):
            Prediction.objects.create(
                task=task, project=labeled, result=[], score=0.5, model_version=f"v{index}"
            )
    ImportJob.objects.create(project=labeled, created_by=user, file_name="done.json", file_format="json",
                             state="completed", task_count=3, attempts=1)  # fmt: skip
    # Claimed by a worker of the old release when the upgrade stopped it: no lease at all.
    ImportJob.objects.create(project=labeled, created_by=user, file_name="stuck.json", file_format="json",
                             state="in_progress", attempts=1)  # fmt: skip
    return {"tasks": 3, "annotations": 3, "predictions": 3}


@pytest.mark.parametrize("released", RELEASED_STATES)
def test_upgrade_from_a_released_state_keeps_the_data_and_fills_the_counters(migrator, released, monkeypatch):
    # Batches of two projects, so that the data migration's batching is crossed with three projects.
    totals_migration = importlib.import_module("annotation.migrations.0004_project_totals_import_first_task")
    monkeypatch.setattr(totals_migration, "BATCH_PROJECTS", 2)
    old_state = migrator.apply_initial_migration([("tessera", "0001_initial"), ("annotation", released)])
    expected = _fill(old_state.apps)

    new_state = migrator.apply_tested_migration(_newest_migrations())

    Project = new_state.apps.get_model("annotation", "Project")
    ImportJob = new_state.apps.get_model("annotation", "ImportJob")
    projects = {
        p.title: (p.task_count, p.annotation_total, p.prediction_total) for p in Project.objects.all()
    }
    if released < "0004":
        # 0004 filled the totals from the tasks.
        assert projects == {"Labeled": (3, 3, 3), "Empty": (0, 0, 0), "Also empty": (0, 0, 0)}
    else:
        # Made on a release that already had the totals, through models that left them at 0.
        assert projects == {"Labeled": (3, 0, 0), "Empty": (0, 0, 0), "Also empty": (0, 0, 0)}
    assert new_state.apps.get_model("annotation", "Task").objects.count() == expected["tasks"]
    assert new_state.apps.get_model("annotation", "Annotation").objects.count() == expected["annotations"]
    assert new_state.apps.get_model("annotation", "Prediction").objects.count() == expected["predictions"]
    jobs = {
        j.file_name: (j.state, j.attempts, j.lease_owner, j.lease_expires_at) for j in ImportJob.objects.all()
    }
    # The job left in progress has no lease: the reaper takes it as expired (annotation/services/leases.py).
    assert jobs == {"done.json": ("completed", 1, "", None), "stuck.json": ("in_progress", 1, "", None)}


def test_every_migration_runs_on_an_empty_database_and_back(migrator):
    """Backwards too: a failed upgrade can be rolled back to the first release."""
    migrator.apply_initial_migration([("tessera", "0001_initial"), ("annotation", "0002_initial")])
    migrator.apply_tested_migration(_newest_migrations())
    migrator.apply_tested_migration([("annotation", "0002_initial")])


def test_0009_fills_task_labels_from_the_annotations_left_by_the_previous_release(migrator, monkeypatch):
    """Batches of one task, so that the batching is crossed; skipped annotations add no label. (The
    first target is tessera's 0001: the migrator applies every migration planned before its last target.)"""
    labels_migration = importlib.import_module("annotation.migrations.0009_task_search_and_labels")
    monkeypatch.setattr(labels_migration, "BATCH_TASKS", 1)
    old_state = migrator.apply_initial_migration(
        [("tessera", "0001_initial"), ("annotation", "0006_project_labeled_annotated_counts")]
    )
    apps = old_state.apps
    organization = apps.get_model("tessera", "Organization").objects.create(title="Upgraded Org")
    user = apps.get_model("tessera", "User").objects.create(email="owner@upgrade.test", password="!")
    Project, Task = apps.get_model("annotation", "Project"), apps.get_model("annotation", "Task")
    Annotation = apps.get_model("annotation", "Annotation")
    project = Project.objects.create(
        organization=organization, title="P", label_config="<View/>", task_counter=3
    )
    tasks = [Task.objects.create(project=project, data={"text": f"t{i}"}, inner_id=i) for i in (1, 2, 3)]

    def region(control: str, key: str, values: list[str]) -> dict:
        return {"from_name": control, "to_name": "text", "type": key, "value": {key: values}}

    Annotation.objects.create(task=tasks[0], project=project, completed_by=user,
                              result=[region("sentiment", "choices", ["Positive"])])  # fmt: skip
    Annotation.objects.create(task=tasks[0], project=project, completed_by=user,
                              result=[region("label", "labels", ["ORG", "PER"]), region("sentiment", "choices", ["Neutral"])])  # fmt: skip
    Annotation.objects.create(task=tasks[1], project=project, completed_by=user, was_cancelled=True,
                              result=[region("sentiment", "choices", ["Negative"])])  # fmt: skip
    new_state = migrator.apply_tested_migration(_newest_migrations())

    labels = dict(new_state.apps.get_model("annotation", "Task").objects.values_list("inner_id", "labels"))
    assert labels == {1: {"label": ["ORG", "PER"], "sentiment": ["Neutral", "Positive"]}, 2: {}, 3: {}}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'annotation_task'")
            names = {row[0] for row in cursor.fetchall()}
        assert {"task_labels_gin", "task_project_annotations"} <= names
        # 0012 moved the trigram index off the task table, onto the search rows.
        assert "task_data_trgm" not in names
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'annotation_tasksearchtext'")
            assert "task_search_text_trgm" in {row[0] for row in cursor.fetchall()}


def test_0012_fills_the_search_rows_of_existing_tasks_and_their_watermarks(migrator, monkeypatch):
    """Batches of one task id, so that the batching is crossed; SQLite keeps no search rows."""
    search_migration = importlib.import_module("annotation.migrations.0012_search_index_task_text")
    monkeypatch.setattr(search_migration, "BATCH_IDS", 1)
    old_state = migrator.apply_initial_migration(
        [("tessera", "0001_initial"), ("annotation", "0011_task_state_fill_and_indexes")]
    )
    apps = old_state.apps
    organization = apps.get_model("tessera", "Organization").objects.create(title="Upgraded Org")
    Project, Task = apps.get_model("annotation", "Project"), apps.get_model("annotation", "Task")
    filled = Project.objects.create(organization=organization, title="P", label_config="<View/>", task_counter=3,
                                    task_layout_version=4)  # fmt: skip
    empty = Project.objects.create(organization=organization, title="Empty", label_config="<View/>")
    tasks = [
        Task.objects.create(project=filled, data={"text": text}, inner_id=i)
        for i, text in enumerate(["東京の銀行", "bank", 'said "x"'], start=1)
    ]
    new_state = migrator.apply_tested_migration(_newest_migrations())

    Project = new_state.apps.get_model("annotation", "Project")
    rows = dict(
        new_state.apps.get_model("annotation", "TaskSearchText").objects.values_list("task_id", "text")
    )
    marks = dict(Project.objects.values_list("pk", "search_indexed_through_id"))
    if connection.vendor != "postgresql":
        assert rows == {} and marks == {filled.pk: 0, empty.pk: 0}
        return
    with connection.cursor() as cursor:
        cursor.execute('SELECT "id", "data"::text FROM "annotation_task"')
        assert rows == dict(cursor.fetchall())
    assert set(rows) == {task.pk for task in tasks}
    assert marks == {filled.pk: tasks[-1].pk, empty.pk: 0}
    assert Project.objects.get(pk=filled.pk).search_indexed_layout_version == 4


def _keys_and_indexes(table: str) -> tuple[set[str], set[str]]:
    """The columns with a foreign-key constraint, and those with a single-column non-unique index."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    keys = {info["columns"][0] for info in constraints.values() if info["foreign_key"]}
    indexed = {info["columns"][0] for info in constraints.values()
               if info["index"] and not info["unique"] and not info["primary_key"] and len(info["columns"]) == 1}  # fmt: skip
    return keys, indexed


def _one_task(apps) -> tuple:
    """An owner, a project and its one task, written through an earlier state's models."""
    organization = apps.get_model("tessera", "Organization").objects.create(title="Upgraded Org")
    user = apps.get_model("tessera", "User").objects.create(email="owner@upgrade.test", password="!")
    project = apps.get_model("annotation", "Project").objects.create(
        organization=organization, title="P", label_config="<View/>", task_counter=1
    )
    task = apps.get_model("annotation", "Task").objects.create(
        project=project, data={"text": "t"}, inner_id=1
    )
    return user, project, task


def test_0018_drops_the_project_keys_checks_and_the_covered_indexes_with_the_rows_in_place(migrator):
    """On PostgreSQL: the denormalised project keys lose their constraint and the single-column indexes
    a composite one covers go; the rows stay, and the database still refuses an annotation of a missing
    task. Back to 0017, the constraints and indexes return. SQLite keeps its tables as they were."""
    old_state = migrator.apply_initial_migration(
        [("tessera", "0001_initial"), ("annotation", "0017_search_text_statistics")]
    )
    apps = old_state.apps
    user, project, task = _one_task(apps)
    apps.get_model("annotation", "Annotation").objects.create(
        task=task, project=project, completed_by=user, result=[]
    )
    apps.get_model("annotation", "Prediction").objects.create(task=task, project=project, result=[])
    new_state = migrator.apply_tested_migration([("annotation", "0018_denormalised_project_keys")])
    Annotation = new_state.apps.get_model("annotation", "Annotation")
    assert Annotation.objects.filter(task_id=task.pk, project_id=project.pk).count() == 1
    if connection.vendor != "postgresql":
        return
    annotation_keys, annotation_indexes = _keys_and_indexes("annotation_annotation")
    assert "project_id" not in annotation_keys and {"task_id", "completed_by_id"} <= annotation_keys
    assert not {"project_id", "task_id"} & annotation_indexes
    assert "project_id" not in _keys_and_indexes("annotation_prediction")[0]
    assert "task_id" not in _keys_and_indexes("annotation_prediction")[1]
    assert "project_id" not in _keys_and_indexes("annotation_taskquality")[0]
    task_keys, task_indexes = _keys_and_indexes("annotation_task")
    assert "project_id" in task_keys and "project_id" not in task_indexes
    from django.db import IntegrityError, transaction

    # The task's key still holds: an annotation of a task that does not exist is refused.
    with pytest.raises(IntegrityError), transaction.atomic():
        Annotation.objects.create(task_id=task.pk + 1000, project_id=project.pk, result=[])
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    migrator.apply_tested_migration([("annotation", "0017_search_text_statistics")])
    assert "project_id" in _keys_and_indexes("annotation_annotation")[0]
    assert {"project_id", "task_id"} <= _keys_and_indexes("annotation_annotation")[1]


def test_0019_fills_the_dashboard_totals_from_the_rows_of_the_previous_release(migrator):
    """Answers, skips, verdicts and task states left by the previous release become the member-day
    totals and the project's state columns that a recount of the rows gives."""
    from datetime import timedelta

    from django.utils import timezone

    old_state = migrator.apply_initial_migration(
        [("tessera", "0001_initial"), ("annotation", "0018_denormalised_project_keys")]
    )
    apps = old_state.apps
    organization = apps.get_model("tessera", "Organization").objects.create(title="Upgraded Org")
    User = apps.get_model("tessera", "User")
    author = User.objects.create(email="author@upgrade.test", username="author", password="!")
    reviewer = User.objects.create(email="reviewer@upgrade.test", username="reviewer", password="!")
    project = apps.get_model("annotation", "Project").objects.create(
        organization=organization, title="P", label_config="<View/>", task_counter=4, task_count=4
    )
    Task = apps.get_model("annotation", "Task")
    Annotation = apps.get_model("annotation", "Annotation")
    states = ["in_review", "done", "in_progress", "unlabeled"]
    tasks = [Task.objects.create(project=project, data={"text": f"t{i}"}, inner_id=i + 1, state=state)
             for i, state in enumerate(states)]  # fmt: skip
    yesterday = timezone.now() - timedelta(days=1)
    waiting = Annotation.objects.create(task=tasks[0], project=project, completed_by=author, result=[],
                                        lead_time=12.34, prediction_changes={"accepted": True, "kept": 1})  # fmt: skip
    accepted = Annotation.objects.create(task=tasks[1], project=project, completed_by=author, result=[],
                                         lead_time=7.0, review_state="accepted")  # fmt: skip
    Annotation.objects.filter(pk=accepted.pk).update(created_at=yesterday)
    Annotation.objects.create(task=tasks[2], project=project, completed_by=None, result=[], lead_time=3.0)
    Annotation.objects.create(
        task=tasks[2], project=project, completed_by=author, result=[], was_cancelled=True
    )
    review = apps.get_model("annotation", "Review").objects.create(
        annotation=accepted, project=project, reviewer=reviewer, verdict="accept"
    )
    assert waiting.pk and review.pk

    new_state = migrator.apply_tested_migration([("annotation", "0019_dashboard_totals")])

    AnnotatorDay = new_state.apps.get_model("annotation", "AnnotatorDay")
    rows = {
        (row.user_id, row.day): (row.submitted, row.skipped, row.accepted, row.from_prediction, row.unchanged,
                                 row.reviews, row.reviews_accepted, row.lead_times)
        for row in AnnotatorDay.objects.filter(project_id=project.pk)
    }  # fmt: skip
    today, day_before = timezone.localdate(), timezone.localdate(yesterday)
    assert rows == {
        (author.pk, today): (1, 1, 0, 1, 1, 0, 0, {"12.3": 1}),
        (author.pk, day_before): (1, 0, 1, 0, 0, 0, 0, {"7": 1}),
        (0, today): (1, 0, 0, 0, 0, 0, 0, {"3": 1}),
        (reviewer.pk, today): (0, 0, 0, 0, 0, 1, 1, {}),
    }
    upgraded = new_state.apps.get_model("annotation", "Project").objects.get(pk=project.pk)
    assert (upgraded.tasks_in_review, upgraded.tasks_done, upgraded.tasks_in_progress, upgraded.tasks_labeled,
            upgraded.answers_to_review) == (1, 1, 1, 0, 1)  # fmt: skip
    from annotation.services.activity_totals import activity_differences

    assert activity_differences(project.pk) == []


def _single_column_indexes(table: str) -> dict[str, set[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexes: dict[str, set[str]] = {}
    for name, info in constraints.items():
        if info["index"] and not info["unique"] and not info["primary_key"] and len(info["columns"]) == 1:
            indexes.setdefault(info["columns"][0], set()).add(name)
    return indexes


def test_0020_indexes_the_nullable_keys_only_where_set_with_the_rows_in_place(migrator):
    """On both databases: the full indexes of the four nullable keys go, partial ones come, the rows stay
    and deleting an import job still empties the keys that point at it. Back to 0019, full indexes return."""
    old_state = migrator.apply_initial_migration(
        [
            ("tessera", "0001_initial"),
            ("annotation", "0019_dashboard_totals"),
            ("training", "0003_training_jobs"),
        ]
    )
    apps = old_state.apps
    user, project, task = _one_task(apps)
    job = apps.get_model("annotation", "ImportJob").objects.create(
        project=project, created_by=user, file_name="x.json", original_name="x.json", file_format="json"
    )
    prediction = apps.get_model("annotation", "Prediction").objects.create(
        task=task, project=project, result=[], import_job=job
    )
    apps.get_model("annotation", "Annotation").objects.create(
        task=task, project=project, completed_by=user, result=[], import_job=job, parent_prediction=prediction
    )
    apps.get_model("annotation", "Annotation").objects.create(task=task, project=project, completed_by=user)

    new_state = migrator.apply_tested_migration([("annotation", "0020_partial_nullable_key_indexes")])

    annotations, predictions = (
        _single_column_indexes("annotation_annotation"),
        _single_column_indexes("annotation_prediction"),
    )
    assert annotations["import_job_id"] == {"annotation_import_job"}
    assert annotations["parent_prediction_id"] == {"annotation_parent_prediction"}
    assert predictions["import_job_id"] == {"prediction_import_job"}
    assert predictions["prelabeler_id"] == {"prediction_prelabeler"}
    Annotation = new_state.apps.get_model("annotation", "Annotation")
    assert Annotation.objects.filter(import_job_id=job.pk, parent_prediction_id=prediction.pk).count() == 1
    new_state.apps.get_model("annotation", "ImportJob").objects.filter(pk=job.pk).delete()
    assert Annotation.objects.filter(import_job__isnull=True).count() == 2

    migrator.apply_tested_migration([("annotation", "0019_dashboard_totals")])
    assert _single_column_indexes("annotation_annotation")["import_job_id"] == {
        "annotation_annotation_import_job_id_full"
    }
    assert _single_column_indexes("annotation_prediction")["prelabeler_id"] == {
        "annotation_prediction_prelabeler_id_full"
    }
