"""A sweep of malformed bodies and ids over every endpoint: each answers a 4xx in the JSON error shape, never a 500."""

import random
from typing import Any

import pytest

from tests.annotation.conftest import call, fill_ids
from tests.annotation.test_cross_org import ENDPOINTS

pytestmark = pytest.mark.django_db

HUGE = 10**30  # beyond any database integer
BAD_BODIES: list[Any] = [
    [1],
    "text",
    None,
    7,
    {"result": "Positive", "data": [], "meta": "x", "score": "high", "lead_time": {}},
    {"task": HUGE, "project": HUGE, "annotation": HUGE, "parent_prediction": HUGE},
    {"task": -1, "project": 0, "annotation": "x", "parent_prediction": 1.5},
    {"title": ["x"], "label_config": 5, "maximum_annotations": HUGE, "sampling": None},
    {"result": [{"from_name": HUGE, "to_name": None, "type": [], "value": "x"}]},
    {"data": {"text": HUGE}, "result": [[[]]], "was_cancelled": HUGE},
]
WRITES = [(m, p, b) for m, p, b in ENDPOINTS if m in ("post", "patch", "put")]


def assert_clean_4xx(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body["error"]) == {"code", "message", "field"}
    assert "Traceback" not in body["error"]["message"]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_malformed_bodies_answer_4xx_on_every_write(world, api, method, path, body):
    ids = {name: obj.pk for name, obj in world.items()}
    for role in ("owner", "annotator"):
        for bad in BAD_BODIES:
            response = call(api(role), method, fill_ids(path, ids), bad)
            if response.status_code < 300:
                continue  # a body whose bad fields the endpoint ignores may succeed; it must not crash
            assert_clean_4xx(response)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_ids_beyond_any_database_integer_answer_404(world, api, method, path, body):
    ids = {name: HUGE for name in world}
    response = call(api("owner"), method, fill_ids(path, ids), fill_ids(body, ids))
    assert_clean_4xx(response)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "query", [f"?task={HUGE}", f"?project={HUGE}", "?task=-5", f"?project={HUGE}&page={HUGE}", "?task=1e3"]
)
def test_prediction_list_with_odd_filters_answers_cleanly(world, api, query):
    response = api("owner").get(f"/api/predictions/{query}")
    assert response.status_code < 500


def test_task_list_with_a_huge_page_answers_cleanly(world, api):
    response = api("owner").get(f"/api/tasks/?project={world['project'].pk}&page={HUGE}")
    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    "as_sent", [lambda pk: pk + 0.5, lambda pk: pk == pk, lambda pk: f"{pk}.0", lambda pk: [pk]]
)
def test_an_id_that_is_not_an_integer_does_not_name_an_object(world, api, snapshot, as_sent):
    """1.5 is not task 1, and true is not task 1 either, whatever Python's int() says."""
    before = snapshot()
    task_id = as_sent(world["task"].pk)
    for path, body in (("/api/predictions/", {"task": task_id, "result": []}),
                       ("/api/tasks/", {"project": as_sent(world["project"].pk), "data": {"text": "x"}})):  # fmt: skip
        response = call(api("owner"), "post", path, body)
        assert_clean_4xx(response)
    assert snapshot() == before


@pytest.mark.parametrize("ids", [f"{HUGE}", "-1", "abc", "1.5", ",", f"1,{HUGE}"])
@pytest.mark.parametrize("export_type", ["JSON", "CSV"])
def test_export_with_odd_task_ids_answers_cleanly(world, api, ids, export_type):
    response = api("owner").get(
        f"/api/projects/{world['project'].pk}/export?exportType={export_type}&ids={ids}"
    )
    if response.status_code == 200:
        b"".join(response.streaming_content)
    else:
        assert_clean_4xx(response)


FIELD_NAMES = ["result", "task", "project", "data", "meta", "score", "model_version", "lead_time", "was_cancelled",
               "ground_truth", "parent_prediction", "annotation", "completed_by", "title", "label_config",
               "maximum_annotations", "sampling", "color", "reason", "from_name", "to_name", "type", "value",
               "choices", "labels", "start", "end", "text"]  # fmt: skip


def random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(10 if depth < 3 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.choice([0, 1, -1, 2**31, 2**63, 10**20, 0.5, -0.0, 1e308])
    if kind in (2, 3, 4, 5):
        return rng.choice(
            ["", "Positive", "Neutral", "choices", "labels", "text", "日本", "<View/>", "1", "a" * 300]
        )
    if kind in (6, 7):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    return {rng.choice(FIELD_NAMES): random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_random_bodies_never_reach_a_500(world, api, method, path, body):
    """Seeded, so a failure repeats: valid bodies with fields replaced, loose objects, and bare values."""
    rng = random.Random(f"{method} {path}")
    ids = {name: obj.pk for name, obj in world.items()}
    for _ in range(40):
        if isinstance(body, dict) and rng.random() < 0.5:
            sent = dict(fill_ids(body, ids))
            for _ in range(rng.randrange(1, 4)):
                sent[rng.choice([*sent, *FIELD_NAMES])] = random_value(rng)
        elif rng.random() < 0.5:
            sent = {rng.choice(FIELD_NAMES): random_value(rng) for _ in range(rng.randrange(1, 5))}
            if "result" in sent:
                sent["result"] = [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                   "value": random_value(rng)}]  # fmt: skip
        else:
            sent = random_value(rng)
        response = call(api(rng.choice(["owner", "annotator"])), method, fill_ids(path, ids), sent)
        assert response.status_code < 500, (sent, response.content[:300])
