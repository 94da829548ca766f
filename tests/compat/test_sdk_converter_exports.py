"""label-studio-sdk's exports of converter formats against a live Tessera: a CoNLL 2003 export through the
SDK (the call a new user tries first), and a COCO zip."""

import io
import json
import zipfile

import pytest
from label_studio_sdk.core.api_error import ApiError

from annotation.services.annotations import annotation_create
from tests.conftest import NER_CONFIG, span
from tests.exports.test_converter_exports import IMAGE_CONFIG, box

pytestmark = pytest.mark.compat


def test_sdk_exports_conll_2003(sdk, make_project, cast):
    project = make_project(NER_CONFIG, tasks=[{"text": "Acme Bank hired Ann Lee."}, {"text": "Nobody."}])
    task = project.tasks.order_by("inner_id").first()
    annotation_create(
        task=task, user=cast.users["annotator"],
        result=[span(0, 9, "ORG", "Acme Bank"), span(16, 23, "PER", "Ann Lee")],
    )  # fmt: skip
    ls = sdk("reviewer")

    synchronous = b"".join(ls.projects.exports.download_sync(project.pk, export_type="CONLL2003")).decode()
    assert synchronous.splitlines()[:4] == [
        "-DOCSTART- -X- O",
        "Acme -X- _ B-ORG",
        "Bank -X- _ I-ORG",
        "hired -X- _ O",
    ]
    # The helper reads the edition ("Community") and asks for every task, downloads allowed: Tessera
    # downloads nothing and answers the same conversion with the unlabeled task too.
    helper = ls.projects.exports.as_binary(project.pk, export_type="CONLL2003").decode()
    assert helper.startswith(synchronous) and "Nobody -X- _ O\n. -X- _ O\n" in helper


def test_sdk_exports_coco_as_a_zip_and_hears_why_conll_does_not_fit(sdk, make_project, cast):
    project = make_project(IMAGE_CONFIG, tasks=[{"image": "https://images.example/1.jpg"}])
    annotation_create(
        task=project.tasks.get(), user=cast.users["annotator"], result=[box(10, 20, 30, 40, "Car")]
    )
    ls = sdk("manager")
    archive = zipfile.ZipFile(
        io.BytesIO(b"".join(ls.projects.exports.download_sync(project.pk, export_type="COCO")))
    )
    coco = json.loads(archive.read("result.json"))
    assert [c["name"] for c in coco["categories"]] == ["Car", "Person"] and len(coco["annotations"]) == 1

    with pytest.raises(ApiError) as refused:
        b"".join(ls.projects.exports.download_sync(project.pk, export_type="CONLL2003"))
    assert refused.value.status_code == 400
