"""The model registry API: list and read (members, scoped to the organization, query counts pinned),
promote to a project's pre-labeler (managers and above; the model's labels must fit the project's config),
delete with its registry folder (admins and above). The registry folders are tiny BERT classifiers the
test saves, as a training run leaves them; promoted, one pre-labels the project's tasks."""

from pathlib import Path

import pytest

from annotation.models import Prediction
from tessera.models import AuditEvent
from tests.conftest import NER_CONFIG, post_json
from tests.training.test_registry_model import BIO, SENTIMENT, build
from training.models import ModelVersion, PrelabelBackend, Prelabeler
from training.services.prelabel_jobs import prelabel_job_create, prelabel_job_run
from training.services.prelabelers import checked_settings

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "id", "name", "version", "project", "recipe", "task_kind", "base_model", "base_model_name", "params",
    "dataset", "dataset_manifest_sha256", "job", "metrics", "files", "lineage", "evaluation_project",
    "promoted_to", "created_at", "created_by",
}  # fmt: skip


@pytest.fixture
def registry(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path / "models" / "registry"


@pytest.fixture
def make_version(cast, registry):
    """``make_version(project, kind, labels, …)``: a registry folder (unless ``folder=False``) and its
    ModelVersion row, numbered v1, v2, … per name as the registry numbers them."""

    def make(project, kind="sequence", labels=SENTIMENT, *, folder=True, forced=None, org=None, **fields):
        recipe = fields.pop("recipe", "text_classification" if kind == "sequence" else "token_classification")
        name = f"project-{project.pk}-{recipe}"
        version = f"v{ModelVersion.objects.filter(name=name).count() + 1}"
        if folder:
            build(registry, name, version, kind, labels, forced=forced)
        return ModelVersion.objects.create(
            organization=org or cast.org,
            project=project,
            name=name,
            version=version,
            recipe=recipe,
            task_kind=fields.pop(
                "task_kind", "sequence_classification" if kind == "sequence" else "token_classification"
            ),
            base_model_name="all-MiniLM-L6-v2",
            params={"learning_rate": 3e-4},
            metrics={"accuracy": 0.9, "macro_f1": 0.88},
            files=[{"path": "model.safetensors", "bytes": 1, "sha256": "0" * 64}],
            lineage={"dataset_version": None},
            created_by=cast.users["manager"],
            **fields,
        )

    return make


def promote(api, role, version, project):
    return post_json(api(role), f"/api/models/{version.pk}/promote", {"project": project.pk})


# ---- reading ---------------------------------------------------------------------------------------------


def test_members_list_a_projects_models_newest_first(api, choices_project, labels_project, make_version):
    first = make_version(choices_project, folder=False)
    second = make_version(choices_project, folder=False)
    make_version(labels_project, "token", BIO, folder=False)
    body = api("annotator").get(f"/api/models/?project={choices_project.pk}").json()
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    assert [row["id"] for row in body["results"]] == [second.pk, first.pk]
    assert [row["version"] for row in body["results"]] == ["v2", "v1"]
    assert set(body["results"][0]) == CONTRACT_FIELDS
    assert api("annotator").get("/api/models/").json()["count"] == 3
    paged = api("annotator").get("/api/models/?page=2&page_size=1").json()
    assert paged["count"] == 3 and paged["previous"] == 1 and paged["next"] == 3


def test_the_list_costs_the_same_queries_for_one_model_or_many(
    api, choices_project, make_version, make_prelabeler, django_assert_num_queries
):
    client = api("reviewer")
    url = f"/api/models/?project={choices_project.pk}"
    version = make_version(choices_project, folder=False)
    make_prelabeler(choices_project, "registry_model", {"model": version.name, "version": version.version})
    client.get(url)  # the caller's membership and token are warm in the same way for both counts
    with django_assert_num_queries(5) as one:
        assert client.get(url).json()["results"][0]["promoted_to"] == [choices_project.pk]
    for _ in range(4):
        make_version(choices_project, folder=False)
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get(url).json()["count"] == 5


def test_detail_is_the_contracts_shape(api, cast, choices_project, make_version):
    version = make_version(choices_project, folder=False)
    body = api("annotator").get(f"/api/models/{version.pk}/").json()
    assert set(body) == CONTRACT_FIELDS
    assert body["name"] == f"project-{choices_project.pk}-text_classification"
    assert body["metrics"] == {"accuracy": 0.9, "macro_f1": 0.88}
    assert body["files"][0]["path"] == "model.safetensors"
    assert body["promoted_to"] == [] and body["evaluation_project"] is None
    assert body["created_by"]["email"] == cast.users["manager"].email


def test_another_organizations_model_is_a_404_for_every_action(api, cast, other_org_project, make_version):
    version = make_version(other_org_project, "token", BIO, org=cast.other_org)
    client = api("owner")
    assert client.get(f"/api/models/{version.pk}/").status_code == 404
    assert promote(api, "owner", version, other_org_project).status_code == 404
    assert client.post(f"/api/models/{version.pk}/evaluation-project").status_code == 404
    assert client.delete(f"/api/models/{version.pk}/").status_code == 404
    assert client.get(f"/api/models/?project={other_org_project.pk}").status_code == 404
    assert client.get("/api/models/").json()["count"] == 0
    assert api("outsider").get(f"/api/models/{version.pk}/").status_code == 200


# ---- promoting -------------------------------------------------------------------------------------------


def test_promoted_the_model_pre_labels_the_projects_tasks(api, cast, choices_project, make_version):
    version = make_version(choices_project, forced={"Negative": 5.0})
    response = promote(api, "manager", version, choices_project)
    assert response.status_code == 200, response.content
    body = response.json()
    prelabeler = Prelabeler.objects.get(pk=body["prelabeler"])
    assert body == {"model": version.pk, "project": choices_project.pk, "prelabeler": prelabeler.pk}
    assert prelabeler.backend == PrelabelBackend.REGISTRY_MODEL and prelabeler.is_active
    assert prelabeler.settings["model"] == version.name and prelabeler.settings["version"] == "v1"
    audit = AuditEvent.objects.get(action="model_version.promote")
    assert audit.object_id == version.pk and audit.details["project"] == choices_project.pk
    detail = api("annotator").get(f"/api/models/{version.pk}/").json()
    assert detail["promoted_to"] == [choices_project.pk]

    job = prelabel_job_create(prelabeler=prelabeler, user=cast.users["manager"], tasks="all")
    prelabel_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "completed", job.error
    predictions = Prediction.objects.filter(task__project=choices_project)
    assert job.predictions_written == predictions.count() == choices_project.tasks.count() == 6
    assert {p.result[0]["value"]["choices"][0] for p in predictions} == {"Negative"}
    assert {p.model_version for p in predictions} == {f"registry_model:{version.name}:v1"}


def test_a_newer_version_takes_over_the_same_pre_labeler_and_others_are_turned_off(
    api, choices_project, make_version, make_prelabeler
):
    old = make_version(choices_project)
    stray = make_prelabeler(choices_project, "registry_model", {"model": old.name, "version": "v1"})
    kept = make_prelabeler(choices_project, "registry_model", {"model": old.name, "version": "v1"})
    unrelated = make_prelabeler(choices_project, "zero_shot")
    newer = make_version(choices_project)
    assert promote(api, "manager", newer, choices_project).json()["prelabeler"] == kept.pk
    kept.refresh_from_db(), stray.refresh_from_db(), unrelated.refresh_from_db()
    assert kept.settings["version"] == "v2" and kept.is_active
    assert not stray.is_active and unrelated.is_active
    listed = api("manager").get(f"/api/models/?project={choices_project.pk}").json()["results"]
    assert {row["version"]: row["promoted_to"] for row in listed} == {"v2": [choices_project.pk], "v1": []}


def test_a_token_classifier_promotes_to_a_labels_project(api, labels_project, make_version):
    version = make_version(labels_project, "token", BIO)
    assert promote(api, "admin", version, labels_project).status_code == 200


def test_a_model_whose_labels_do_not_fit_the_config_is_a_400_naming_project(
    api, choices_project, labels_project, make_version
):
    moods = make_version(choices_project, labels=["Good", "Bad", "Neutral"])
    response = promote(api, "manager", moods, choices_project)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "project" and "Good, Bad" in error["message"]
    # A sentence classifier has no Choices control to answer in an entity project.
    sentiment = make_version(choices_project)
    assert promote(api, "manager", sentiment, labels_project).json()["error"]["field"] == "project"
    assert not Prelabeler.objects.exists()
    assert not AuditEvent.objects.filter(action="model_version.promote").exists()


def test_a_generative_model_cannot_be_promoted(api, choices_project, make_version):
    version = make_version(choices_project, folder=False, recipe="sft", task_kind="causal_lm")
    response = promote(api, "manager", version, choices_project)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "project"
    assert response.json()["error"]["code"] == "not_promotable"
    japanese = api("manager").post(
        f"/api/models/{version.pk}/promote",
        data={"project": choices_project.pk},
        format="json",
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert "分類モデルだけ" in japanese.json()["error"]["message"]


def test_the_body_must_name_a_project_of_the_organization(
    api, choices_project, other_org_project, make_version
):
    version = make_version(choices_project)
    assert promote(api, "manager", version, other_org_project).json()["error"]["field"] == "project"
    for body in ({}, {"project": "x"}, {"project": True}):
        response = post_json(api("manager"), f"/api/models/{version.pk}/promote", body)
        assert response.status_code == 400 and response.json()["error"]["field"] == "project"


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_below_manager_may_not_promote(api, role, choices_project, make_version):
    version = make_version(choices_project)
    assert promote(api, role, version, choices_project).status_code == 403
    assert not Prelabeler.objects.exists()


# ---- deleting --------------------------------------------------------------------------------------------


def test_an_admin_deletes_a_model_and_its_folder_after_the_commit(
    api, choices_project, make_version, registry, django_capture_on_commit_callbacks
):
    version = make_version(choices_project)
    assert promote(api, "manager", version, choices_project).status_code == 200
    folder = registry / version.name / version.version
    assert api("manager").delete(f"/api/models/{version.pk}/").status_code == 403
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert api("admin").delete(f"/api/models/{version.pk}/").status_code == 204
    assert folder.is_dir()  # nothing removed before the commit
    for callback in callbacks:
        callback()
    assert not folder.exists()
    assert not ModelVersion.objects.filter(pk=version.pk).exists()
    # Its pre-labeler would read a folder that is gone: it is turned off.
    assert not Prelabeler.objects.get(project=choices_project).is_active
    assert AuditEvent.objects.filter(action="model_version.delete", object_id=version.pk).exists()


def test_prelabeler_settings_of_a_promotion_keep_their_options(
    api, choices_project, make_version, make_prelabeler
):
    version = make_version(choices_project)
    existing = make_prelabeler(
        choices_project, "registry_model", {"model": "older", "version": "1", "max_length": 64}
    )
    assert promote(api, "manager", version, choices_project).status_code == 200
    existing.refresh_from_db()
    assert existing.settings == checked_settings(
        "registry_model", {"model": version.name, "version": "v1", "max_length": 64}
    )


def test_a_labels_project_config_is_what_the_fit_is_checked_against(make_project, api, make_version):
    project = make_project(NER_CONFIG.replace('<Label value="MONEY"/>', ""), tasks=[{"text": "Acme"}])
    version = make_version(project, "token", BIO)
    response = promote(api, "manager", version, project)
    assert response.status_code == 400 and "MONEY" in response.json()["error"]["message"]


def test_reading_one_model_costs_a_fixed_number_of_queries(
    api, choices_project, make_version, make_prelabeler, django_assert_num_queries
):
    client = api("annotator")
    version = make_version(choices_project, folder=False)
    for _ in range(3):
        make_prelabeler(choices_project, "registry_model", {"model": version.name, "version": "v1"})
    client.get(f"/api/models/{version.pk}/")
    # The caller (token and membership together), the version with its creator, the pre-labelers reading it.
    with django_assert_num_queries(3):
        assert client.get(f"/api/models/{version.pk}/").json()["promoted_to"] == [choices_project.pk]
