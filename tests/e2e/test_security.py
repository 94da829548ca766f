"""Task data is untrusted: markup in it renders as text and runs nothing; the pages send an enforced
Content-Security-Policy and the usual headers; session requests need the CSRF token."""

import json

import pytest
from django.test import Client

from annotation.models import Annotation, TaskLock
from tests.e2e.conftest import IMAGES, PASSWORD

PAYLOAD = (
    '<script>window.__xss = "script"; alert("script")</script>'
    "<img src=x onerror=\"window.__xss = 'img'; alert('img')\">"
    "<a href=\"javascript:alert('link')\">click me</a> [docs](javascript:alert(1)) "
    "<svg onload=\"alert('svg')\"></svg>"
)

HOSTILE_CONFIG = """<View>
  <Header value="$title"/>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="&lt;img src=x onerror=alert('choice')&gt;"/>
    <Choice value="&lt;b&gt;bold&lt;/b&gt;"/>
  </Choices>
</View>"""


@pytest.mark.e2e
def test_xss_payloads_in_task_data_render_as_text_and_never_run(annotator, labeling_project):
    project = labeling_project(
        HOSTILE_CONFIG,
        [{"title": "<img src=y onerror=\"alert('title')\">", "text": PAYLOAD}],
        title='<script>alert("project")</script>',
        expert_instruction="<script>alert('instructions')</script>",
    )
    annotator.label(project)
    page = annotator.page
    annotator.press("i", "Escape")
    assert page.locator(".text-body").inner_text() == PAYLOAD
    assert page.locator(".header").inner_text() == "<img src=y onerror=\"alert('title')\">"
    assert page.locator(".project-title").inner_text() == '<script>alert("project")</script>'
    choices = [text.split("\n")[-1] for text in page.locator(".choice").all_inner_texts()]
    assert choices == ["<img src=x onerror=alert('choice')>", "<b>bold</b>"]
    # Nothing from the data became an element.
    assert page.locator(".canvas img, .canvas script, .canvas a, .canvas svg, .canvas b").count() == 0
    annotator.press("2")
    annotator.screenshot("xss-as-text")
    annotator.submit()
    assert page.evaluate("() => window.__xss") is None
    assert annotator.dialogs == []
    assert Annotation.objects.get(project=project).result[0]["value"] == {"choices": ["<b>bold</b>"]}


@pytest.mark.e2e
def test_content_security_policy_blocks_inline_script_even_if_injected(annotator, labeling_project):
    project = labeling_project(HOSTILE_CONFIG, [{"title": "t", "text": "x"}], title="CSP")
    annotator.label(project)
    page = annotator.page
    # Suppose a future bug put markup into the page: the browser still refuses to run it.
    page.evaluate(
        """() => {
            const script = document.createElement('script');
            script.textContent = 'window.__inline = 1';
            document.body.append(script);
            const holder = document.createElement('div');
            holder.innerHTML = '<img src="data:," onerror="window.__handler = 1">';
            document.body.append(holder);
        }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => [window.__inline, window.__handler]") == [None, None]


def _signed_in_client(cast, *, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    assert client.login(username=cast.users["annotator"].email, password=PASSWORD)
    return client


def test_pages_send_an_enforced_content_security_policy_and_security_headers(cast, make_project):
    client = _signed_in_client(cast)
    project = make_project()
    foreign = make_project(org=cast.other_org)
    pages = {
        "/login/": (200, 302),
        "/projects/": (200,),
        f"/projects/{project.pk}/label/": (200,),
        f"/projects/{foreign.pk}/label/": (404,),  # the not-found page is just as strict
    }
    for path, statuses in pages.items():
        response = client.get(path)
        assert response.status_code in statuses
        policy = response["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
        assert "unsafe" not in policy
        assert "Content-Security-Policy-Report-Only" not in response
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"]


def test_image_allow_list_is_part_of_the_policy(cast, settings):
    settings.TESSERA_IMAGE_ALLOWED_ORIGINS = ["https://images.acme.test"]
    response = _signed_in_client(cast).get("/projects/")
    assert "img-src 'self' https://images.acme.test" in response["Content-Security-Policy"]
    app_settings = response.content.decode().split('id="tessera-settings" type="application/json">')[1]
    assert json.loads(app_settings.split("</script>")[0])["imageOrigins"] == ["https://images.acme.test"]


def test_pages_need_a_session(db):
    response = Client().get("/projects/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_session_requests_to_the_api_need_the_csrf_token(cast, labeling_project):
    from tests.e2e.conftest import SENTIMENT

    project = labeling_project(SENTIMENT, [{"text": "x"}])
    task = project.tasks.get()
    client = _signed_in_client(cast, enforce_csrf=True)
    body = json.dumps({"result": []})
    refused = client.post(f"/api/tasks/{task.pk}/annotations/", body, content_type="application/json")
    assert refused.status_code == 403
    assert not Annotation.objects.exists()
    client.get("/projects/")  # sets the CSRF cookie, as the app page does
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        f"/api/tasks/{task.pk}/annotations/",
        body,
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert accepted.status_code == 201


def test_sign_out_needs_post_and_ends_the_session(cast):
    client = _signed_in_client(cast)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/projects/").status_code == 302


@pytest.mark.e2e
def test_labeling_page_of_another_organizations_project_says_not_found(annotator, make_project, cast):
    foreign = make_project(org=cast.other_org, tasks=[{"text": "Kansai's secret"}])
    page = annotator.page
    api_calls = []

    def from_labeling_page(request) -> None:
        # The project list the sign-in landed on may still be loading: count only this page's calls.
        if "/api/" in request.url and "/label/" in (request.headers.get("referer") or ""):
            api_calls.append(request.url)

    page.on("request", from_labeling_page)
    for project_id in (foreign.pk, foreign.pk + 1000):  # another organization's, and none at all
        response = page.goto(f"{annotator.base_url}/projects/{project_id}/label/")
        assert response.status == 404
        assert page.locator("main h1").inner_text() == "Project not found"
        assert f"no project #{project_id} in your organization" in page.locator("main").inner_text()
        assert "content-security-policy" in response.headers
        # No app shell: nothing tried the API and failed.
        assert page.locator(".labeling-head, .notice.error").count() == 0
        assert "Kansai" not in page.content()
        assert api_calls == []
    page.locator("a", has_text="Back to your projects").click()
    page.wait_for_url(f"{annotator.base_url}/projects/")
    assert annotator.errors == []


@pytest.mark.e2e
def test_an_image_that_points_at_our_own_api_is_not_loaded(annotator, labeling_project, cast):
    project = labeling_project(IMAGES, [{"image": "/static/e2e/satellite.png"}], title="Planted image")
    # Data stored before the import check refused such addresses (or written around it): the page
    # must still not load it, since the image request would carry the annotator's session cookie.
    planted = f"/%61pi/projects/{project.pk}/next"
    project.tasks.update(data={"image": planted})
    requested = []
    annotator.page.on(
        "request", lambda request: requested.append((request.method, request.resource_type, request.url))
    )
    annotator.label(project)
    assert "Tessera's own API" in annotator.page.locator(".stage .blocked").inner_text()
    assert annotator.page.locator(".stage img").count() == 0
    assert not [url for method, kind, url in requested if kind == "image" or "%61pi" in url]
    # The page took its task with one POST; the one lock is the annotator's own.
    assert [(m, u.split("/api/")[1]) for m, _, u in requested if u.endswith("/next")] == [
        ("POST", f"labeling/projects/{project.pk}/next")
    ]
    assert TaskLock.objects.filter(user=cast.users["annotator"]).count() == 1


@pytest.mark.e2e
def test_no_spelling_of_an_own_api_address_gets_an_image_loaded(annotator, labeling_project, live_server):
    spellings = [
        "/API/projects/1/next",
        f"//{live_server.url.split('//')[1]}/api/projects/1/next",
        f"{live_server.url}/static/../api/version",
        "/x/%2e%2e/api/version",
        "\\api\\version",
        "/%2561pi/version",
    ]
    images = "".join(f'<Image name="image{i}" value="$image{i}"/>' for i in range(len(spellings)))
    config = f'<View>{images}<RectangleLabels name="box" toName="image0"><Label value="Car"/></RectangleLabels></View>'
    project = labeling_project(
        config, [{f"image{i}": "/static/e2e/satellite.png" for i in range(len(spellings))}]
    )
    project.tasks.update(data={f"image{i}": url for i, url in enumerate(spellings)})
    requested = []
    annotator.page.on("request", lambda request: requested.append((request.resource_type, request.url)))
    annotator.label(project)
    blocked = annotator.page.locator(".stage .blocked")
    assert blocked.count() == len(spellings)
    assert all("Tessera's own API" in text for text in blocked.all_inner_texts())
    assert not [url for kind, url in requested if kind == "image"]
