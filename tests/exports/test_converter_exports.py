"""GET /api/projects/{id}/export?exportType=CONLL2003|COCO|YOLO|VOC: label-studio-sdk's converter formats,
and the dataset formats of the same names."""

import io
import json
import tarfile
import zipfile

import pytest
from label_studio_sdk.converter import Converter

from annotation.services.annotations import annotation_create
from exports.converter import NOT_READ_SCHEME, safe_media_value
from exports.datasets.items import DatasetContext, DatasetItem, ItemAnnotation
from exports.formats.datasets import DATASET_FORMATS
from tests.conftest import NER_CONFIG, span

pytestmark = pytest.mark.django_db

IMAGE_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Car"/><Label value="Person"/>
  </RectangleLabels>
</View>"""


def box(x, y, width, height, label, *, original=(640, 480)) -> dict:
    return {
        "from_name": "label", "to_name": "image", "type": "rectanglelabels",
        "original_width": original[0], "original_height": original[1], "image_rotation": 0,
        "value": {"x": x, "y": y, "width": width, "height": height, "rotation": 0, "rectanglelabels": [label]},
    }  # fmt: skip


@pytest.fixture
def ner_project(make_project, cast):
    project = make_project(
        NER_CONFIG,
        tasks=[
            {"text": "Acme Bank hired Ann Lee."},
            {"text": "Profits rose 5 percent."},
            {"text": "Unread."},
        ],
    )
    first, second, _ = project.tasks.order_by("inner_id")
    annotation_create(
        task=first, user=cast.users["annotator"],
        result=[span(0, 9, "ORG", "Acme Bank"), span(16, 23, "PER", "Ann Lee")],
    )  # fmt: skip
    annotation_create(task=second, user=cast.users["annotator"], result=[span(13, 22, "MONEY", "5 percent")])
    return project


@pytest.fixture
def image_project(make_project, cast):
    project = make_project(
        IMAGE_CONFIG,
        tasks=[
            {"image": "https://images.example/street/1.jpg"},
            {"image": "https://images.example/street/2.png"},
        ],
    )
    first, second = project.tasks.order_by("inner_id")
    annotation_create(
        task=first, user=cast.users["annotator"],
        result=[box(10, 20, 30, 40, "Car"), box(50, 50, 25, 25, "Person")],
    )  # fmt: skip
    annotation_create(task=second, user=cast.users["annotator"], result=[box(0, 0, 50, 50, "Person")])
    return project


def export(api, project, query: str, role: str = "reviewer"):
    return api(role).get(f"/api/projects/{project.pk}/export{query}")


def body(response) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def direct_conversion(project, api, export_type: str, tmp_path) -> str:
    """What label_studio_sdk.converter itself writes from our JSON export of the same tasks."""
    source = tmp_path / "tasks.json"
    source.write_bytes(body(export(api, project, "?exportType=JSON")))
    converter = Converter(project.label_config, project_dir=str(tmp_path), download_resources=False)
    out = tmp_path / export_type
    converter.convert(str(source), str(out), export_type, is_dir=False)
    return (out / "result.conll").read_text()


def test_conll_export_is_what_label_studios_converter_writes(api, ner_project, tmp_path):
    response = export(api, ner_project, "?exportType=CONLL2003")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert (
        response["Content-Disposition"] == f'attachment; filename="project-{ner_project.pk}-CONLL2003.conll"'
    )
    text = body(response).decode()
    assert text == direct_conversion(ner_project, api, "CONLL2003", tmp_path)
    assert text.startswith("-DOCSTART- -X- O\n")
    assert "Acme -X- _ B-ORG\nBank -X- _ I-ORG\n" in text
    assert "Ann -X- _ B-PER\n" in text and "5 -X- _ B-MONEY\n" in text
    # Only annotated tasks, as the JSON export: the unlabeled one is not there.
    assert "Unread" not in text


def test_conll_export_takes_the_same_selection_as_the_json_export(api, ner_project):
    first = ner_project.tasks.order_by("inner_id").first()
    text = body(export(api, ner_project, f"?exportType=conll2003&ids={first.pk}")).decode()
    assert "Acme" in text and "Profits" not in text
    everything = body(export(api, ner_project, "?exportType=CONLL2003&download_all_tasks=true")).decode()
    assert "Unread -X- _ O" in everything


def zip_of(response) -> zipfile.ZipFile:
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(body(response)))


def test_coco_export_is_a_zip_with_images_annotations_and_categories(api, image_project):
    response = export(api, image_project, "?exportType=COCO")
    assert response["Content-Disposition"] == f'attachment; filename="project-{image_project.pk}-COCO.zip"'
    archive = zip_of(response)
    # Label Studio's layout: the JSON and the (empty: nothing is downloaded) images folder.
    assert archive.namelist() == ["images/", "result.json"]
    coco = json.loads(archive.read("result.json"))
    assert {"images", "annotations", "categories", "info"} <= set(coco)
    assert [c["name"] for c in coco["categories"]] == ["Car", "Person"]
    assert [(i["width"], i["height"]) for i in coco["images"]] == [(640, 480), (640, 480)]
    # Image names come from the URL's base name, never from a path on the server.
    assert all(i["file_name"].startswith("images/") for i in coco["images"])
    assert [i["file_name"].rsplit("__", 1)[1] for i in coco["images"]] == ["1.jpg", "2.png"]
    car = coco["annotations"][0]
    assert (car["category_id"], car["bbox"], car["area"]) == (0, [64.0, 96.0, 192.0, 192.0], 192.0 * 192.0)
    assert len(coco["annotations"]) == 3


def test_yolo_export_has_classes_and_a_label_file_per_image(api, image_project):
    archive = zip_of(export(api, image_project, "?exportType=YOLO"))
    names = archive.namelist()
    assert {"classes.txt", "notes.json", "images/", "labels/"} <= set(names)
    assert archive.read("classes.txt").decode().splitlines() == ["Car", "Person"]
    labels = sorted(name for name in names if name.startswith("labels/") and name.endswith(".txt"))
    assert [name.rsplit("__", 1)[1] for name in labels] == ["1.txt", "2.txt"]
    first = archive.read(labels[0]).decode().splitlines()
    # class x_center y_center width height, relative to the image.
    assert [line.split()[0] for line in first] == ["0", "1"]
    assert [float(v) for v in first[0].split()[1:]] == pytest.approx([0.25, 0.4, 0.3, 0.4])


def test_voc_export_has_one_annotation_xml_per_image(api, image_project):
    archive = zip_of(export(api, image_project, "?exportType=VOC"))
    xmls = sorted(
        name for name in archive.namelist() if name.startswith("Annotations/") and name.endswith(".xml")
    )
    assert len(xmls) == 2
    first = archive.read(xmls[0]).decode()
    assert "<name>Car</name>" in first and "<name>Person</name>" in first
    assert "<xmin>64</xmin>" in first and "<width>640</width>" in first


def test_image_values_that_are_server_paths_are_never_read_nor_named(api, make_project, cast, tmp_path):
    # A real image on this machine: the converter would open it to read its size (COCO).
    from PIL import Image

    secret = tmp_path / "secret-scan.png"
    Image.new("RGB", (123, 77)).save(secret)
    project = make_project(
        IMAGE_CONFIG,
        tasks=[{"image": str(secret)}, {"image": "s3://bucket/../../../../../../../.." + str(secret)},
               {"image": "file://" + str(secret)}],
    )  # fmt: skip
    for task in project.tasks.all():
        annotation_create(task=task, user=cast.users["annotator"], result=[box(0, 0, 10, 10, "Car")])
    coco = json.loads(zip_of(export(api, project, "?exportType=COCO")).read("result.json"))
    # The size is the annotation's original size, not the file's: the file was not opened.
    assert [(i["width"], i["height"]) for i in coco["images"]] == [(640, 480)] * 3
    assert all(str(tmp_path) not in i["file_name"] for i in coco["images"])
    assert all(i["file_name"].startswith("images/") for i in coco["images"])


def test_safe_media_value_keeps_urls_and_renames_paths():
    assert safe_media_value("https://a.example/x.jpg") == "https://a.example/x.jpg"
    assert safe_media_value("s3://bucket/key.jpg") == "s3://bucket/key.jpg"
    for path in ("/etc/passwd", "relative/x.jpg", "../x.jpg", "C:\\x.jpg", "file:///etc/passwd",
                 "https://a.example/../../x.jpg", "/data/upload/1/x.jpg"):  # fmt: skip
        assert safe_media_value(path).startswith(NOT_READ_SCHEME), path


def test_coco_on_a_text_project_answers_400_naming_export_type(api, ner_project):
    response = export(api, ner_project, "?exportType=COCO")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["field"], error["code"]) == ("exportType", "format_does_not_fit")
    assert "COCO" in error["message"] and "Image" in error["message"]


def test_conll_on_an_image_project_answers_400(api, image_project):
    error = export(api, image_project, "?exportType=CONLL2003").json()["error"]
    assert (error["field"], error["code"]) == ("exportType", "format_does_not_fit")


def test_an_export_beyond_the_limit_answers_400(api, ner_project, settings):
    settings.TESSERA_CONVERTER_EXPORT_MAX_TASKS = 1
    response = export(api, ner_project, "?exportType=CONLL2003")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["field"], error["code"]) == ("exportType", "too_many_tasks")
    # One task selected fits.
    first = ner_project.tasks.order_by("inner_id").first()
    assert export(api, ner_project, f"?exportType=CONLL2003&ids={first.pk}").status_code == 200


def test_another_organizations_project_answers_404(api, ner_project):
    assert export(api, ner_project, "?exportType=CONLL2003", role="outsider").status_code == 404


def test_annotators_cannot_export_converter_formats(api, ner_project):
    response = export(api, ner_project, "?exportType=CONLL2003", role="annotator")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_too_low"


def test_a_converter_export_is_in_the_audit_log(api, ner_project, cast):
    from tessera.models import AuditEvent

    body(export(api, ner_project, "?exportType=CONLL2003"))
    event = AuditEvent.objects.filter(action="project.export").latest("id")
    assert event.details["export_type"] == "CONLL2003"


def test_the_conversion_leaves_no_temporary_folder(api, ner_project, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    body(export(api, ner_project, "?exportType=CONLL2003"))
    assert list(tmp_path.iterdir()) == []


# Dataset formats.


def items_of_boxes() -> list[DatasetItem]:
    return [
        DatasetItem(task_id=1, data={"image": "https://images.example/a.jpg"},
                    result=[box(10, 20, 30, 40, "Car")], annotations=[ItemAnnotation(7, 3, [])]),
        DatasetItem(task_id=2, data={"image": "/srv/private/b.jpg"}, result=[box(0, 0, 50, 50, "Person")]),
    ]  # fmt: skip


def image_context() -> DatasetContext:
    return DatasetContext(project_id=1, controls={}, data_variables=("image",), label_config=IMAGE_CONFIG)


@pytest.mark.parametrize("name", ["COCO", "YOLO", "VOC", "YOLO_OBB"])
def test_folder_dataset_formats_are_reproducible_tars(name):
    fmt = DATASET_FORMATS[name]
    assert (fmt.per_split, fmt.extension) == (True, "tar")
    assert fmt.fits(image_context()) is None
    outputs = []
    for _ in range(2):
        out = io.BytesIO()
        fmt.write(items_of_boxes(), image_context(), out)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    with tarfile.open(fileobj=io.BytesIO(outputs[0])) as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == sorted(m.name for m in members)
        assert {m.mtime for m in members} == {315532800}
        assert not any("/srv/private" in m.name for m in members)


def test_coco_dataset_format_holds_the_items_boxes():
    out = io.BytesIO()
    DATASET_FORMATS["COCO"].write(items_of_boxes(), image_context(), out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as archive:
        member = archive.extractfile("result.json")
        assert member is not None
        coco = json.loads(member.read())
    assert [a["category_id"] for a in coco["annotations"]] == [0, 1]
    assert coco["info"]["date_created"] == "1980-01-01 00:00:00" and coco["info"]["year"] == 1980
    assert all("/srv/private" not in i["file_name"] for i in coco["images"])


def test_conll_dataset_format_matches_the_export_endpoint(api, ner_project):
    fmt = DATASET_FORMATS["CONLL2003"]
    context = DatasetContext(project_id=ner_project.pk, controls={}, data_variables=("text",),
                             label_config=ner_project.label_config)  # fmt: skip
    items = [
        DatasetItem(task_id=task.pk, data=task.data, result=annotation.result,
                    annotations=[ItemAnnotation(annotation.pk, annotation.completed_by_id, annotation.result)])
        for task in ner_project.tasks.order_by("inner_id")
        for annotation in task.annotations.all()
    ]  # fmt: skip
    out = io.BytesIO()
    fmt.write(items, context, out)
    assert out.getvalue() == body(export(api, ner_project, "?exportType=CONLL2003"))


def test_dataset_formats_say_when_the_config_does_not_fit():
    text = DatasetContext(project_id=1, controls={}, data_variables=("text",), label_config=NER_CONFIG)
    reason = DATASET_FORMATS["COCO"].fits(text)
    assert reason is not None and "Image" in reason
    assert DATASET_FORMATS["CONLL2003"].fits(text) is None


def test_task_data_the_converter_cannot_read_answers_400(api, make_project, cast):
    project = make_project(NER_CONFIG, tasks=[{"text": 123}])
    annotation_create(task=project.tasks.get(), user=cast.users["annotator"], result=[])
    response = export(api, project, "?exportType=CONLL2003")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["field"], error["code"]) == ("exportType", "conversion_failed")
