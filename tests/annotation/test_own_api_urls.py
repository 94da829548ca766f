"""Image and media addresses that point at Tessera's own API are refused: in the label config, in
imported and edited task data (the page refuses them too: tests/e2e/test_security.py). A task image
of /api/projects/1/next would otherwise make every annotator's browser call the API with their
session cookie."""

import json

import pytest

from annotation.media_urls import points_at_own_api
from annotation.models import Task
from tests.conftest import patch_json, post_json

IMAGE_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Car"/></RectangleLabels>
</View>"""

HOSTS = ["localhost", "127.0.0.1", "testserver", "tessera.example.org"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/projects/1/next",
        "/api/",
        "/api",
        "/API/projects/1/next",
        "/%61pi/projects/1/next",
        "/%2561pi/projects/1/next",
        "/api%2Fprojects/1/next",
        "//testserver/api/projects/1/next",
        "https://tessera.example.org/api/tasks/1/lock/",
        "http://localhost:8000/api/projects/1/next",
        "HTTPS://TESSERA.EXAMPLE.ORG./Api/x",
        "../../../api/projects/1/next",
        "/static/../api/projects/1/next",
        "/x/%2e%2e/api/projects/1/next",
        "\\\\testserver\\api\\projects",
        "/a\tpi/projects/1/next",
        "  /api/projects/1/next\n",
    ],
)
def test_addresses_of_our_own_api_are_recognised_however_spelled(url):
    assert points_at_own_api(url, own_hosts=HOSTS)


@pytest.mark.parametrize(
    "url",
    [
        "/static/e2e/satellite.png",
        "https://images.example.net/api/scene.png",  # another host's /api/ is not ours
        "//images.example.net/api/scene.png",
        "/apis/scene.png",
        "/media/api-docs.png",
        "api/scene.png",  # relative to the labeling page: /projects/1/label/api/…
        "data:image/png;base64,AAAA",
        "http://[broken",
        None,
        42,
    ],
)
def test_other_addresses_pass(url):
    assert not points_at_own_api(url, own_hosts=HOSTS)


def test_with_a_wildcard_host_every_host_is_ours():
    assert points_at_own_api("https://anything.example/api/projects/1/next", own_hosts=["*"])
    assert points_at_own_api("https://sub.example.org/api/x", own_hosts=[".example.org"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tag",
    ['<Image name="image" value="/%61pi/projects/1/next"/>', '<Audio name="audio" value="/api/version"/>'],
)
def test_a_label_config_with_a_literal_own_api_address_is_refused(api, tag):
    config = f'<View>{tag}<Text name="text" value="$text"/></View>'
    response = post_json(api("manager"), "/api/projects/validate/", {"label_config": config})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "own_api_url"
    assert response.json()["error"]["field"] == "label_config"


@pytest.mark.django_db
def test_an_import_with_an_own_api_image_is_refused_and_writes_nothing(api, make_project):
    project = make_project(IMAGE_CONFIG)
    tasks = [{"image": "/static/ok.png"}, {"image": "/api/projects/1/next"}]
    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", tasks)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "own_api_url",
        "field": "tasks[1].data.image",
        "message": response.json()["error"]["message"],
    }
    assert Task.objects.filter(project=project).count() == 0


@pytest.mark.django_db
def test_an_image_list_and_a_task_edit_are_checked_too(api, make_project):
    project = make_project(IMAGE_CONFIG, tasks=[{"image": "https://images.example.net/api/ok.png"}])
    task = project.tasks.get()
    url = f"/api/tasks/{task.pk}/"
    response = patch_json(api("manager"), url, {"data": {"image": "//testserver/API/tasks/1/lock/"}})
    assert response.status_code == 400 and response.json()["error"]["code"] == "own_api_url"
    response = post_json(
        api("manager"),
        "/api/tasks/",
        {"project": project.pk, "data": {"image": ["/ok.png", "/%61pi/version"]}},
    )
    assert response.status_code == 400 and response.json()["error"]["field"].endswith("data.image")
    task.refresh_from_db()
    assert task.data == {"image": "https://images.example.net/api/ok.png"}
    assert Task.objects.filter(project=project).count() == 1


@pytest.mark.django_db
def test_a_text_task_may_mention_an_api_path(api, make_project):
    # Text is shown as text, never loaded: only media addresses are checked.
    project = make_project()
    body = json.dumps([{"text": "/api/projects/1/next"}])
    response = api("manager").post(
        f"/api/projects/{project.pk}/import", data=body, content_type="application/json"
    )
    assert response.status_code == 201
