"""Base models: a folder is registered only when it is inside the allowed roots (symlinks resolved), holds a
supported config.json and safetensors weights only; members read, admins register; another organization's
model is a 404; all-MiniLM-L6-v2 is registered by the set-up command and on an organization's first look."""

import json
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from safetensors.numpy import save_file

from tests.conftest import post_json
from training.encoders import ENCODER_NAME, encoder_path
from training.models import BaseModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def roots(settings, tmp_path) -> Path:
    root = tmp_path / "models"
    root.mkdir()
    settings.TESSERA_MODEL_ROOTS = [str(root)]
    return root


def model_folder(parent: Path, name: str = "tiny-bert", model_type: object = "bert") -> Path:
    folder = parent / name
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": model_type, "hidden_size": 8}))
    save_file(
        {"embeddings": np.zeros((10, 8), dtype=np.float32), "bias": np.zeros(8, dtype=np.float32)},
        str(folder / "model.safetensors"),
    )
    return folder


def register(api, path, role: str = "admin", name: str = "tiny"):
    return post_json(api(role), "/api/base-models/", {"name": name, "path": str(path)})


def error_of(response) -> dict:
    return response.json()["error"]


def test_admin_registers_a_folder_inside_the_roots_with_its_parameters_counted(api, roots):
    response = register(api, model_folder(roots))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["model_type"], body["parameters"]) == ("encoder", "bert", 10 * 8 + 8)
    assert body["path"] == str((roots / "tiny-bert").resolve())


def test_a_missing_folder_is_a_400_naming_path(api, roots):
    response = register(api, roots / "nothing-here")
    assert response.status_code == 400
    assert (error_of(response)["field"], error_of(response)["code"]) == ("path", "not_found")


def test_a_relative_path_is_refused(api, roots):
    model_folder(roots)
    response = register(api, "models/tiny-bert")
    assert (response.status_code, error_of(response)["field"]) == (400, "path")


def test_a_folder_outside_the_roots_is_refused(api, roots, tmp_path):
    response = register(api, model_folder(tmp_path, "elsewhere"))
    assert response.status_code == 400
    assert (error_of(response)["field"], error_of(response)["code"]) == ("path", "outside_roots")


def test_a_symlink_inside_a_root_pointing_outside_is_refused(api, roots, tmp_path):
    outside = model_folder(tmp_path, "elsewhere")
    (roots / "link").symlink_to(outside, target_is_directory=True)
    response = register(api, roots / "link")
    assert response.status_code == 400
    assert error_of(response)["code"] == "outside_roots"


def test_a_weights_file_linked_from_outside_the_roots_is_refused(api, roots, tmp_path):
    folder = model_folder(roots)
    outside = model_folder(tmp_path, "elsewhere")
    (folder / "model.safetensors").unlink()
    (folder / "model.safetensors").symlink_to(outside / "model.safetensors")
    response = register(api, folder)
    assert (response.status_code, error_of(response)["code"]) == (400, "outside_roots")


@pytest.mark.parametrize("pickle_name", ["pytorch_model.bin", "training_args.pt", "optimizer.pkl"])
def test_pickle_weights_are_refused_even_beside_safetensors(api, roots, pickle_name):
    folder = model_folder(roots)
    (folder / pickle_name).write_bytes(b"\x80\x04K\x01.")
    response = register(api, folder)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["field"], error["code"]) == ("path", "pickle_weights")
    assert "Pickle weights are refused" in error["message"]
    assert not BaseModel.objects.exists()


@pytest.mark.parametrize("model_type", ["t5", ["llama"], None])
def test_an_unsupported_architecture_is_refused(api, roots, model_type):
    response = register(api, model_folder(roots, model_type=model_type))
    assert response.status_code == 400
    assert (error_of(response)["field"], error_of(response)["code"]) == ("path", "unsupported_architecture")


def test_a_folder_without_safetensors_or_config_is_refused(api, roots):
    no_weights = model_folder(roots)
    (no_weights / "model.safetensors").unlink()
    assert error_of(register(api, no_weights))["code"] == "no_weights"
    no_config = model_folder(roots, "other")
    (no_config / "config.json").unlink()
    assert error_of(register(api, no_config, name="other"))["code"] == "no_config"


def test_a_name_taken_in_the_organization_is_a_409(api, roots):
    folder = model_folder(roots)
    assert register(api, folder).status_code == 201
    response = register(api, folder)
    assert (response.status_code, error_of(response)["field"]) == (409, "name")


@pytest.mark.parametrize("role", ["manager", "reviewer", "annotator"])
def test_below_admin_may_not_register(api, roots, role):
    response = register(api, model_folder(roots), role=role)
    assert response.status_code == 403
    assert not BaseModel.objects.exists()


def test_members_read_and_another_organization_gets_404(api, roots):
    created = register(api, model_folder(roots)).json()
    assert api("annotator").get(f"/api/base-models/{created['id']}/").status_code == 200
    assert api("outsider").get(f"/api/base-models/{created['id']}/").status_code == 404
    assert api("outsider").delete(f"/api/base-models/{created['id']}/").status_code == 404
    assert created["id"] not in [row["id"] for row in api("outsider").get("/api/base-models/").json()]
    assert api("manager").delete(f"/api/base-models/{created['id']}/").status_code == 403
    assert api("admin").delete(f"/api/base-models/{created['id']}/").status_code == 204
    assert not BaseModel.objects.filter(pk=created["id"]).exists()


def test_the_first_list_registers_minilm_from_the_installed_package(api, roots):
    rows = api("annotator").get("/api/base-models/").json()
    assert [(row["name"], row["kind"], row["path"]) for row in rows] == [
        (ENCODER_NAME, "encoder", str(encoder_path().resolve()))
    ]
    assert rows[0]["parameters"] > 22_000_000  # MiniLM-L6-H384: about 22.7 million
    assert len(api("annotator").get("/api/base-models/").json()) == 1


def test_the_set_up_command_registers_minilm_in_every_organization(cast, roots):
    out = StringIO()
    call_command("tessera_register_base_models", stdout=out)
    assert set(BaseModel.objects.filter(name=ENCODER_NAME).values_list("organization_id", flat=True)) == {
        cast.org.pk,
        cast.other_org.pk,
    }
    call_command("tessera_register_base_models", stdout=out)
    assert BaseModel.objects.count() == 2
    assert "already there" in out.getvalue()


def test_the_list_costs_the_same_queries_for_one_model_or_many(api, roots, django_assert_num_queries):
    client = api("annotator")
    client.get("/api/base-models/")  # registers MiniLM
    # The caller's membership, whether the organization has a model, the models with their creators.
    with django_assert_num_queries(3):
        assert len(client.get("/api/base-models/").json()) == 1
    for index in range(4):
        register(api, model_folder(roots, f"model-{index}"), name=f"model-{index}")
    with django_assert_num_queries(3):
        assert len(client.get("/api/base-models/").json()) == 5
