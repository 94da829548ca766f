"""The OpenAI-compatible chat backend against a chat server on loopback: draft answers for a TextArea,
labels for Choices and spans for Labels parsed against the config, and what does not fit dropped."""

import json

import pytest

from tessera.errors import ApplicationError
from tests.conftest import NER_CONFIG, SENTIMENT_CONFIG
from tests.training.loopback_servers import chat_routes, serve, user_prompt
from training.prelabelers.base import BackendUnfit, Dropped, PredictionOut, TaskInput
from training.prelabelers.openai_chat import OpenAIChat, completions_url
from training.services.prelabelers import backend_for, checked_settings, create_prelabeler

pytestmark = pytest.mark.django_db

SFT_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <TextArea name="answer" toName="prompt" rows="4"/>
</View>"""


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


def chat_prelabeler(project, cast, url: str, **settings):
    return create_prelabeler(
        project=project, user=cast.users["manager"], backend="openai_chat", settings={"url": url, **settings}
    )


def inputs(project) -> list[TaskInput]:
    return [TaskInput(task.pk, task.data) for task in project.tasks.order_by("id")]


def test_a_textarea_gets_the_answer_as_a_draft(make_project, cast):
    project = make_project(SFT_CONFIG, tasks=[{"prompt": "What is EBITDA?"}, {"prompt": "Define beta."}])
    replies = {
        "What is EBITDA?": "Earnings before interest, taxes, depreciation and amortization.",
        "Define beta.": "",
    }
    with serve(chat_routes(lambda request: replies[user_prompt(request)])) as server:
        prelabeler = chat_prelabeler(
            project, cast, server.url, model="qwen2.5-7b", api_key="sk-local", system_prompt="You are terse."
        )
        answers = backend_for(prelabeler).predict(inputs(project))
    first, second = answers
    assert isinstance(first, PredictionOut) and first.score is None
    [region] = first.result
    assert (region["from_name"], region["to_name"], region["type"]) == ("answer", "prompt", "textarea")
    assert region["value"] == {"text": [replies["What is EBITDA?"]]}
    assert isinstance(second, Dropped) and "nothing" in second.reason
    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-local"
    sent = request.json()
    assert sent["model"] == "qwen2.5-7b" and sent["temperature"] == 0 and sent["max_tokens"] == 256
    assert sent["messages"][0] == {"role": "system", "content": "You are terse."}
    assert sent["messages"][1]["role"] == "user" and sent["stream"] is False


def test_choices_are_parsed_against_the_labels_and_the_rest_dropped(make_project, cast):
    texts = ["a", "b", "c", "d", "e", "f"]
    project = make_project(SENTIMENT_CONFIG, tasks=[{"text": text} for text in texts])
    replies = {
        "a": "positive",
        "b": '{"label": "Negative"}',
        "c": "<think>The text is flat.</think>\nNeutral.",
        "d": '```json\n{"label": "Neutral"}\n```',
        "e": "Bullish",
        "f": '{"label": "Positive", "reason": 1',
    }
    template = "Sentiment of: {text}\nLabels: {labels}"

    def reply(request: dict) -> str:
        prompt = user_prompt(request)
        assert prompt.startswith("Sentiment of: ") and prompt.endswith("Labels: Positive, Negative, Neutral")
        return replies[prompt.split("\n")[0].removeprefix("Sentiment of: ")]

    with serve(chat_routes(reply)) as server:
        prelabeler = chat_prelabeler(project, cast, server.url, prompt_template=template, concurrency=3)
        answers = backend_for(prelabeler).predict(inputs(project))
    chosen = [
        answer.result[0]["value"]["choices"] if isinstance(answer, PredictionOut) else None
        for answer in answers
    ]
    assert chosen == [["Positive"], ["Negative"], ["Neutral"], ["Neutral"], None, None]
    assert "Bullish" in answers[4].reason and "Positive, Negative, Neutral" in answers[4].reason
    assert all(answer.task_id == task.id for answer, task in zip(answers, inputs(project), strict=True))


def test_spans_are_found_in_the_text_in_code_points_or_dropped(make_project, cast):
    texts = [
        "😀 東京銀行と東京銀行がAcme Corpに100万円を支払った。",
        "Acme Corp paid $5m.",
        "Acme Corp paid $5m.",
        "Acme Corp paid $5m.",
        "Nothing here.",
    ]
    project = make_project(NER_CONFIG, tasks=[{"text": text} for text in texts])
    replies = [
        json.dumps(
            [
                {"text": "東京銀行", "label": "ORG"},
                {"text": "東京銀行", "label": "org"},
                {"text": "Acme Corp", "label": "ORG"},
                {"text": "100万円", "label": "MONEY"},
            ],
            ensure_ascii=False,
        ),
        '{"entities": [{"text": "Acme Corp", "label": "ORG"}]}',
        '[{"text": "Acme Inc", "label": "ORG"}]',  # not in the text
        '[{"text": "$5m", "label": "AMOUNT"}]',  # not a label of the control
        "[]",
    ]
    sequence = iter(replies)

    with serve(chat_routes(lambda request: next(sequence))) as server:
        prelabeler = chat_prelabeler(project, cast, server.url, concurrency=1)
        answers = backend_for(prelabeler).predict(inputs(project))
    first = answers[0]
    assert isinstance(first, PredictionOut)
    spans = [(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in first.result]
    # Code points: the emoji is one, as each kanji is (UTF-16 would count the emoji twice).
    assert spans == [(2, 6, "ORG"), (7, 11, "ORG"), (12, 21, "ORG"), (22, 27, "MONEY")]
    assert [texts[0][start:end] for start, end, _ in spans] == [
        "東京銀行",
        "東京銀行",
        "Acme Corp",
        "100万円",
    ]
    assert len({region["id"] for region in first.result}) == 4
    assert isinstance(answers[1], PredictionOut) and answers[1].result[0]["value"]["end"] == 9
    assert isinstance(answers[2], Dropped) and "Acme Inc" in answers[2].reason
    assert isinstance(answers[3], Dropped) and "no label" in answers[3].reason
    assert isinstance(answers[4], PredictionOut) and answers[4].result == []
    # The default prompt names the labels and asks for JSON.
    assert "ORG, PER, MONEY" in user_prompt(server.requests[0].json())


def test_a_chat_answer_that_is_no_chat_completion_fails_the_batch(make_project, cast):
    from tessera.outbound import OutboundError
    from tests.training.loopback_servers import json_answer

    project = make_project(SENTIMENT_CONFIG, tasks=[{"text": "a"}])
    routes = {"/v1/chat/completions": lambda seen: json_answer({"error": "model not loaded"})}
    with serve(routes) as server:
        backend = backend_for(chat_prelabeler(project, cast, server.url))
        with pytest.raises(OutboundError) as caught:
            backend.predict(inputs(project))
    assert caught.value.code == "invalid_json"


def test_the_url_may_end_in_v1_or_the_full_path():
    assert completions_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert completions_url("http://h:8000/v1/") == "http://h:8000/v1/chat/completions"
    assert completions_url("http://h/v1/chat/completions") == "http://h/v1/chat/completions"
    assert completions_url("http://h/ollama") == "http://h/ollama/v1/chat/completions"


def test_a_url_ending_in_v1_is_called_once_under_it(make_project, cast):
    project = make_project(SENTIMENT_CONFIG, tasks=[{"text": "a"}])
    with serve(chat_routes(lambda request: "Positive")) as server:
        backend_for(chat_prelabeler(project, cast, f"{server.url}/v1")).predict(inputs(project))
    assert [request.path for request in server.requests] == ["/v1/chat/completions"]


def test_the_config_must_have_what_the_settings_name(make_project, cast):
    image_only = '<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="img"><Label value="A"/></RectangleLabels></View>'
    cases = [
        (SENTIMENT_CONFIG, {"target": "nope"}, "settings.target"),
        (NER_CONFIG, {"target": "text"}, "settings.target"),
        (SENTIMENT_CONFIG, {"prompt_template": "Classify {body}"}, "settings.prompt_template"),
        (image_only, {}, "backend"),
    ]
    for config, settings, field in cases:
        project = make_project(config)
        with pytest.raises(ApplicationError) as caught:
            chat_prelabeler(project, cast, "http://127.0.0.1:9", **settings)
        assert caught.value.field == field, (settings, caught.value.message)
    project = make_project(SENTIMENT_CONFIG)
    prelabeler = chat_prelabeler(
        project, cast, "http://127.0.0.1:9", prompt_template="Is {text} good? {{json}}"
    )
    backend = backend_for(prelabeler)
    backend.check()
    assert backend.prompt(TaskInput(1, {"text": "x"})) == "Is x good? {json}"
    json_example = backend_for(
        chat_prelabeler(project, cast, "http://127.0.0.1:9", prompt_template='{text} as {"label": "…"}')
    )
    assert json_example.prompt(TaskInput(1, {"text": "x"})) == 'x as {"label": "…"}'


def test_a_config_changed_under_the_settings_is_unfit_at_predict(make_project, cast):
    project = make_project(SENTIMENT_CONFIG, tasks=[{"text": "a"}])
    prelabeler = chat_prelabeler(project, cast, "http://127.0.0.1:9", target="sentiment")
    prelabeler.project.label_config = SFT_CONFIG.replace("$prompt", "$text")
    with pytest.raises(BackendUnfit) as caught:
        backend_for(prelabeler).predict(inputs(project))
    assert caught.value.field == "settings.target"


def test_settings_defaults_secrets_and_the_model_version(settings):
    filled = checked_settings("openai_chat", {"url": "http://127.0.0.1:8000"})
    assert filled["temperature"] == 0 and filled["max_tokens"] == 256 and filled["prompt_template"] == ""
    with pytest.raises(ApplicationError) as caught:
        checked_settings("openai_chat", {"url": "http://127.0.0.1:8000", "temperature": 3})
    assert caught.value.field == "settings.temperature"
    for key in ("sk-a\r\nX-Injected: 1", "sk-ключ", "sk a"):  # it goes into a header
        with pytest.raises(ApplicationError) as caught:
            checked_settings("openai_chat", {"url": "http://127.0.0.1:8000", "api_key": key})
        assert caught.value.field == "settings.api_key"
    settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(ApplicationError) as caught:
        checked_settings("openai_chat", {"url": "http://127.0.0.1:8000"})
    assert caught.value.field == "settings.url"
    shown = OpenAIChat.public_settings({"url": "http://x", "api_key": "sk-secret"})
    assert shown == {"url": "http://x", "api_key_is_set": True}


def test_the_model_version_changes_with_the_prompt_not_with_the_key(make_project, cast):
    project = make_project(SENTIMENT_CONFIG)
    one = backend_for(chat_prelabeler(project, cast, "http://127.0.0.1:9", model="llama3", api_key="a"))
    two = backend_for(chat_prelabeler(project, cast, "http://127.0.0.1:9", model="llama3", api_key="b"))
    three = backend_for(
        chat_prelabeler(
            project, cast, "http://127.0.0.1:9", model="llama3", prompt_template="Mood of {text}?"
        )
    )
    assert one.model_version() == two.model_version() != three.model_version()
    assert one.model_version().startswith("openai_chat:llama3:")
