"""Every error under /api/ is JSON in one shape; no bad input reaches a 500 or a stack trace."""

import pytest

from tests.conftest import post_json

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail"} and set(body["error"]) == {"code", "message", "field"}
    assert "Traceback" not in response.content.decode()
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize(
    "path",
    ["/api/nothing", "/api/nothing/", "/api/projects/abc/", "/api/projects/1/nothing", "/api/tasks/-1/",
     "/api/projects/1/export/extra", "/api/"],
)  # fmt: skip
@pytest.mark.parametrize("role", ["manager", None])
def test_unknown_api_url_answers_json_404(api, cast, path, role):
    assert_json_error(api(role).get(path), 404, "not_found")


def test_unknown_api_url_answers_json_404_to_a_post_too(api, cast):
    assert_json_error(post_json(api("manager"), "/api/nothing/", {"a": 1}), 404, "not_found")


def test_wrong_method_answers_json_405(api, cast):
    assert_json_error(api("manager").delete("/api/projects/"), 405)


def test_malformed_json_body_answers_400(api, cast):
    response = api("manager").post("/api/projects/", data='{"title": ', content_type="application/json")
    assert_json_error(response, 400, "parse_error")


def test_json_body_nested_too_deeply_answers_400(api, cast):
    response = api("manager").post(
        "/api/projects/", data="[" * 50000 + "]" * 50000, content_type="application/json"
    )
    assert_json_error(response, 400, "parse_error")


def test_nul_character_in_any_json_body_answers_400_naming_where(api, cast):
    response = post_json(api("manager"), "/api/projects/", {"title": "ok", "description": "a\u0000b"})
    error = assert_json_error(response, 400, "nul_character")
    assert error["field"] == "description"


def test_unsupported_body_type_answers_415(api, cast):
    response = api("manager").post("/api/projects/", data="title=x", content_type="text/plain")
    assert_json_error(response, 415)


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page_size=-1", "page=1.5"])
def test_bad_paging_answers_400_naming_the_parameter(api, cast, query):
    error = assert_json_error(api("manager").get(f"/api/projects/?{query}"), 400)
    assert error["field"] == query.split("=")[0]


def test_a_task_page_over_the_size_limit_answers_400(api, make_project):
    project = make_project()
    error = assert_json_error(api("manager").get(f"/api/tasks/?project={project.pk}&page_size=100000"), 400)
    assert error["field"] == "page_size"


def test_projects_asked_for_with_a_huge_page_size_get_the_largest_page_instead_of_a_400(
    api, make_project, settings
):
    # Label Studio's legacy Client.list_projects() asks for page_size=10000000.
    settings.TESSERA_PAGE_SIZE_MAX = 2
    for _ in range(3):
        make_project()
    body = api("manager").get("/api/projects/?page_size=10000000").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"] == 2


def test_the_api_schema_renders(api, cast):
    assert api("manager").get("/api/schema/").status_code == 200


def test_a_page_beyond_any_database_offset_answers_400(api, cast):
    error = assert_json_error(api("manager").get(f"/api/projects/?page={10**30}"), 400)
    assert error["field"] == "page"


@pytest.mark.parametrize("number", ["1e400", "-1e999", "NaN", "Infinity"])
def test_numbers_json_cannot_carry_answer_400_not_500(api, cast, make_project, number):
    project = make_project(tasks=[{"text": "a"}])
    task = project.tasks.get()
    body = f'{{"result": [], "lead_time": {number}}}'
    response = api("annotator").post(
        f"/api/tasks/{task.pk}/annotations/", data=body, content_type="application/json"
    )
    assert_json_error(response, 400, "parse_error")
    response = api("manager").patch(f"/api/tasks/{task.pk}/", data=f'{{"meta": {{"x": {number}}}}}',
                                    content_type="application/json")  # fmt: skip
    assert_json_error(response, 400, "parse_error")
    response = api("manager").post(f"/api/projects/{project.pk}/import", data=f'[{{"text": "b", "n": {number}}}]',
                                   content_type="application/json")  # fmt: skip
    assert_json_error(response, 400, "parse_error")
    assert project.tasks.count() == 1 and not task.annotations.exists()


@pytest.mark.parametrize("form", ["multipart", "urlencoded"])
def test_nul_character_in_a_form_body_answers_400(api, cast, form):
    client = api("manager")
    if form == "multipart":
        response = client.post("/api/projects/", data={"title": "a\u0000b"}, format="multipart")
    else:
        response = client.post(
            "/api/projects/", data="title=a%00b", content_type="application/x-www-form-urlencoded"
        )
    error = assert_json_error(response, 400, "nul_character")
    assert error["field"] == "title"


def test_a_body_over_djangos_upload_limit_answers_413(api, cast, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = post_json(api("manager"), "/api/projects/", {"title": "x" * 200})
    assert_json_error(response, 413, "too_large")


def test_an_import_body_is_bounded_by_the_upload_limit_not_djangos_in_memory_limit(
    api, cast, make_project, settings
):
    # Imports stream their body to disk, so Django's in-memory limit (2.5 MB) does not apply to them.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    project = make_project()
    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", [{"text": "x" * 200}])
    assert response.status_code == 201, response.content
    settings.TESSERA_MAX_UPLOAD_BYTES = 100
    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", [{"text": "y" * 200}])
    assert_json_error(response, 413, "too_large")
    assert project.tasks.count() == 1


def test_a_form_with_too_many_fields_answers_400(api, cast, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    body = "&".join(f"field{i}=1" for i in range(10))
    response = api("manager").post(
        "/api/projects/", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert_json_error(response, 400, "bad_request")


def test_a_request_django_refuses_before_any_api_view_answers_json_400(client, db, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    body = "&".join(f"field{i}=1" for i in range(10))
    response = client.post("/login/", data=body, content_type="application/x-www-form-urlencoded")
    assert_json_error(response, 400, "bad_request")
