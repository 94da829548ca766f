"""The New project wizard's template gallery (frontend/src/templates/gallery.json, which the app
imports): every template is a config the server accepts, with a sample task that imports into it."""

import json
from pathlib import Path

import pytest
from django.conf import settings

from annotation.importing.parsers import parse_items
from annotation.label_config import parse_label_config
from annotation.models import Task
from annotation.services.imports import tasks_import
from annotation.services.projects import project_create

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "frontend" / "src" / "templates" / "gallery.json"
TEMPLATES = json.loads(GALLERY.read_text(encoding="utf-8"))["templates"]


def test_every_template_has_an_id_a_title_and_a_description_in_both_languages():
    ids = [template["id"] for template in TEMPLATES]
    assert len(ids) == len(set(ids))
    for template in TEMPLATES:
        for key in ("title", "description"):
            assert set(template[key]) == {"en", "ja"}, template["id"]
            assert all(text.strip() for text in template[key].values()), template["id"]
        assert isinstance(template["sample"], dict) and template["sample"], template["id"]


def test_the_gallery_covers_every_task_type_of_the_labeling_page():
    controls = {
        control.tag
        for template in TEMPLATES
        for control in parse_label_config(template["config"], max_bytes=100_000).controls.values()
    }
    assert controls >= {
        "choices",
        "labels",
        "textarea",
        "pairwise",
        "rating",
        "paragraphlabels",
        "rectanglelabels",
        "polygonlabels",
    }
    multiple = [template for template in TEMPLATES if 'choice="multiple"' in template["config"]]
    assert multiple
    japanese = next(template for template in TEMPLATES if template["id"] == "ner_ja")
    labels = parse_label_config(japanese["config"], max_bytes=100_000).controls["label"].labels
    assert {"人名", "組織", "地名"} <= set(labels)
    assert any("\u4e00" <= character <= "\u9fff" for character in japanese["sample"]["text"])


@pytest.mark.parametrize("template", TEMPLATES, ids=[template["id"] for template in TEMPLATES])
def test_template_validates_and_its_sample_task_imports(template, cast):
    schema = parse_label_config(template["config"], max_bytes=settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    assert set(schema.variables) <= set(template["sample"]), "the sample lacks a field the config reads"
    project = project_create(
        organization=cast.org,
        user=cast.users["manager"],
        fields={"title": template["title"]["en"], "label_config": template["config"]},
    )
    # As the wizard's import step sends it: the sample as a JSON list of one task.
    raw = json.dumps([template["sample"]], ensure_ascii=False).encode()
    items = parse_items(raw, "json", max_tasks=settings.TESSERA_MAX_TASKS_PER_IMPORT)
    counts = tasks_import(project=project, user=cast.users["manager"], items=items)
    assert counts.task_count == 1
    assert Task.objects.get(project=project).data == template["sample"]


def test_sample_images_are_our_own_static_files():
    for template in TEMPLATES:
        image = template["sample"].get("image")
        if image:
            assert image.startswith("/static/")
            assert (ROOT / "frontend" / "public" / image.removeprefix("/static/")).is_file()
