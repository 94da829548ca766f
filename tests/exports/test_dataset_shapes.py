"""The training-shape dataset writers, each loaded by the library that consumes it: ``datasets`` offline
for every shape, and TRL's dataset utilities for the SFT and DPO shapes.

Contexts come from real label configs parsed by annotation.label_config; items are built as the
build pipeline hands them to writers. No network: the tokenizer is the MiniLM folder installed with the
project, and the chat template is set in the test.
"""

import io
import json

import pytest
from django.conf import settings
from django.utils import translation

from annotation.label_config import parse_label_config
from exports.datasets.items import DatasetContext, DatasetItem, ItemAnnotation
from exports.formats import dpo_pairs, pretraining_corpus, rubric_scores, sft_chat  # noqa: F401 - they register
from exports.formats.datasets import DATASET_FORMATS
from exports.formats.shape_tokens import word_tokens
from exports.formats.text_classification import text_classification_label_names
from exports.formats.token_classification import token_classification_tag_names
from training.encoders import encoder_path

MODEL_DIR = str(encoder_path())
SHAPES = (
    "text_classification",
    "token_classification",
    "sft_chat",
    "dpo_pairs",
    "rubric_scores",
    "pretraining_corpus",
)

CHOICES_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>"""
MULTI_CHOICES_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="topics" toName="text" choice="multiple">
    <Choice value="Sports"/><Choice value="Politics"/><Choice value="Science"/>
  </Choices>
</View>"""
NER_CONFIG = """<View>
  <Labels name="label" toName="text">
    <Label value="PER"/><Label value="ORG"/><Label value="LOC"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""
IMAGE_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Car"/></RectangleLabels>
</View>"""
SFT_CONFIG = """<View>
  <Text name="system" value="$system"/>
  <Text name="prompt" value="$prompt"/>
  <TextArea name="answer" toName="prompt"/>
</View>"""
DIALOGUE_SFT_CONFIG = """<View>
  <Paragraphs name="dialogue" value="$dialogue" layout="dialogue"/>
  <TextArea name="reply" toName="dialogue"/>
</View>"""
PAIRWISE_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <Text name="answer1" value="$answer1"/>
  <Text name="answer2" value="$answer2"/>
  <Pairwise name="comparison" toName="answer1,answer2"/>
</View>"""
DIALOGUE_PAIRWISE_CONFIG = """<View>
  <Paragraphs name="dialogue" value="$dialogue" nameKey="speaker" textKey="says"/>
  <Text name="answer1" value="$answer1"/>
  <Text name="answer2" value="$answer2"/>
  <Pairwise name="comparison" toName="answer1,answer2"/>
</View>"""
RANKER_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <List name="answers" value="$answers" title="Answers"/>
  <Ranker name="rank" toName="answers"/>
</View>"""
BUCKET_RANKER_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <List name="answers" value="$answers" title="Answers"/>
  <Ranker name="rank" toName="answers">
    <Bucket name="good" title="Good"/><Bucket name="bad" title="Bad"/>
  </Ranker>
</View>"""
RATED_ANSWERS_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <Text name="answer_a" value="$answer_a"/><Rating name="rating_a" toName="answer_a"/>
  <Text name="answer_b" value="$answer_b"/><Rating name="rating_b" toName="answer_b"/>
  <Text name="answer_c" value="$answer_c"/><Rating name="rating_c" toName="answer_c"/>
</View>"""
RUBRIC_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Rating name="fluency" toName="text" maxRating="5"/>
  <Number name="accuracy" toName="text" min="0" max="10"/>
  <Choices name="safe" toName="text"><Choice value="yes"/><Choice value="no"/></Choices>
</View>"""

# A template in the shape of the common ones: each turn tagged with its role, and the assistant's tag
# opened for generation. MiniLM's tokenizer has none of its own.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def context_for(config: str, *, tokenizer: str = "") -> DatasetContext:
    schema = parse_label_config(config, max_bytes=settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    return DatasetContext(
        project_id=1,
        controls=schema.summary(),
        data_variables=schema.variables,
        label_config=config,
        tokenizer=tokenizer,
    )


def choice(control: str, to_name: str, *picks: str) -> dict:
    return {"from_name": control, "to_name": to_name, "type": "choices", "value": {"choices": list(picks)}}


def span(text: str, part: str, label: str, *, occurrence: int = 0) -> dict:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(part, start + 1)
    value = {"start": start, "end": start + len(part), "text": part, "labels": [label]}
    return {"from_name": "label", "to_name": "text", "type": "labels", "value": value}


def textarea(control: str, to_name: str, text: str) -> dict:
    return {"from_name": control, "to_name": to_name, "type": "textarea", "value": {"text": [text]}}


def written(name: str, items: list[DatasetItem], context: DatasetContext) -> bytes:
    stream = io.BytesIO()
    DATASET_FORMATS[name].write(items, context, stream)
    return stream.getvalue()


@pytest.fixture
def load_jsonl(tmp_path, monkeypatch):
    """Write a shape's JSONL to a file and load it with ``datasets``, offline, in a cache of its own."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    datasets.disable_progress_bars()

    def load(data: bytes, features=None):
        path = tmp_path / f"shape-{len(list(tmp_path.glob('shape-*.jsonl')))}.jsonl"
        path.write_bytes(data)
        loaded = datasets.load_dataset(
            "json", data_files=str(path), split="train", features=features, cache_dir=str(tmp_path / "cache")
        )
        return loaded

    return load


@pytest.fixture(scope="module")
def chat_tokenizer():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR, local_files_only=True)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def test_every_shape_is_registered_as_one_jsonl_file_per_split():
    for name in SHAPES:
        fmt = DATASET_FORMATS[name]
        assert (fmt.name, fmt.extension, fmt.per_split) == (name, "jsonl", True)


def test_text_classification_loads_with_a_class_label_in_the_configs_order(load_jsonl):
    import datasets

    context = context_for(CHOICES_CONFIG)
    items = [
        DatasetItem(
            task_id=1, data={"text": "素晴らしい映画だった"}, result=[choice("sentiment", "text", "Positive")]
        ),
        DatasetItem(
            task_id=2, data={"text": "Dull and long."}, result=[choice("sentiment", "text", "Negative")]
        ),
        DatasetItem(task_id=3, data={"text": "No label yet."}, result=[]),
    ]
    data = written("text_classification", items, context)
    assert "素晴らしい".encode() in data  # UTF-8, not \\u escapes
    assert (
        data.splitlines()[0]
        == json.dumps({"label": "Positive", "text": "素晴らしい映画だった"}, ensure_ascii=False).encode()
    )
    names = text_classification_label_names(context)
    assert names == ["Positive", "Negative", "Neutral"]
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)}
    )
    loaded = load_jsonl(data, features)
    assert loaded["label"] == [0, 1]
    assert loaded.features["label"].int2str(loaded["label"]) == ["Positive", "Negative"]


def test_multi_label_choices_give_a_labels_list_in_the_configs_order(load_jsonl):
    import datasets

    context = context_for(MULTI_CHOICES_CONFIG)
    items = [
        DatasetItem(
            task_id=1,
            data={"text": "Ministers race."},
            result=[choice("topics", "text", "Sports", "Politics")],
        )
    ]
    items.append(
        DatasetItem(task_id=2, data={"text": "Physics."}, result=[choice("topics", "text", "Science")])
    )
    names = text_classification_label_names(context)
    features = datasets.Features(
        {"text": datasets.Value("string"), "labels": datasets.Sequence(datasets.ClassLabel(names=names))}
    )
    # The clicks came Sports then Politics; the row keeps the config's order either way.
    items[0].result = [choice("topics", "text", "Politics", "Sports")]
    loaded = load_jsonl(written("text_classification", items, context), features)
    assert loaded["labels"] == [[0, 1], [2]]


def test_every_annotation_is_a_row_when_the_recipe_keeps_all(load_jsonl):
    context = context_for(CHOICES_CONFIG)
    item = DatasetItem(
        task_id=7,
        data={"text": "Fine."},
        result=[],
        annotations=[
            ItemAnnotation(id=1, completed_by=10, result=[choice("sentiment", "text", "Neutral")]),
            ItemAnnotation(id=2, completed_by=11, result=[choice("sentiment", "text", "Positive")]),
        ],
    )
    assert load_jsonl(written("text_classification", [item], context))["label"] == ["Neutral", "Positive"]


def test_token_classification_tags_english_spans_bio_with_offsets(load_jsonl):
    import datasets

    context = context_for(NER_CONFIG)
    text = "Ada Lovelace met Charles Babbage in London, 1833."
    result = [
        span(text, "Ada Lovelace", "PER"),
        span(text, "Charles Babbage", "PER"),
        span(text, "London", "LOC"),
    ]
    tag_names = token_classification_tag_names(context)
    assert tag_names == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=tag_names)),
            "offsets": datasets.Sequence(datasets.Sequence(datasets.Value("int64"))),
        }
    )
    loaded = load_jsonl(
        written(
            "token_classification", [DatasetItem(task_id=5, data={"text": text}, result=result)], context
        ),
        features,
    )
    row = loaded[0]
    assert row["id"] == "5"
    assert row["tokens"] == ["Ada", "Lovelace", "met", "Charles", "Babbage", "in", "London", ",", "1833", "."]
    tags = loaded.features["ner_tags"].feature.int2str(row["ner_tags"])
    assert tags == ["B-PER", "I-PER", "O", "B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"]
    assert [text[start:end] for start, end in row["offsets"]] == row["tokens"]


def test_japanese_ner_is_tagged_per_character_with_offsets(load_jsonl):
    import datasets

    context = context_for(NER_CONFIG)
    text = "山田太郎は東京のトヨタで働く。"
    result = [span(text, "山田太郎", "PER"), span(text, "東京", "LOC"), span(text, "トヨタ", "ORG")]
    tag_names = token_classification_tag_names(context)
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=tag_names)),
            "offsets": datasets.Sequence(datasets.Sequence(datasets.Value("int64"))),
        }
    )
    row = load_jsonl(
        written(
            "token_classification", [DatasetItem(task_id=9, data={"text": text}, result=result)], context
        ),
        features,
    )[0]
    assert row["tokens"] == list(text)
    assert row["offsets"] == [[index, index + 1] for index in range(len(text))]
    tags = features["ner_tags"].feature.int2str(row["ner_tags"])
    assert tags == [
        "B-PER", "I-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC", "O",
        "B-ORG", "I-ORG", "I-ORG", "O", "O", "O", "O",
    ]  # fmt: skip


def test_mixed_script_text_keeps_latin_words_whole_and_cjk_per_character():
    tokens = [token for token, _start, _end in word_tokens("AppleのiPhone 15を2024年に買った")]
    assert tokens == ["Apple", "の", "iPhone", "15", "を", "2024", "年", "に", "買", "っ", "た"]


def test_overlapping_spans_keep_the_first_and_a_span_inside_a_token_tags_that_token(load_jsonl):
    context = context_for(NER_CONFIG)
    text = "New York University hired Smithson"
    result = [
        span(text, "New York University", "ORG"),
        span(text, "York", "LOC"),  # nested in the organisation: BIO cannot hold both
        span(text, "Smith", "PER"),  # part of a token: the token carries it
    ]
    row = load_jsonl(
        written("token_classification", [DatasetItem(task_id=1, data={"text": text}, result=result)], context)
    )[0]
    assert row["ner_tags"] == ["B-ORG", "I-ORG", "I-ORG", "O", "B-PER"]


def test_token_classification_with_the_projects_tokenizer_keeps_offsets_into_the_text(load_jsonl):
    from transformers import AutoTokenizer

    context = context_for(NER_CONFIG, tokenizer=MODEL_DIR)
    text = "Grace Hopper visited Tokyo."
    row = load_jsonl(
        written(
            "token_classification",
            [DatasetItem(task_id=1, data={"text": text}, result=[span(text, "Grace Hopper", "PER")])],
            context,
        )
    )[0]
    pieces = AutoTokenizer.from_pretrained(MODEL_DIR, local_files_only=True).tokenize(text)
    assert len(row["tokens"]) == len(pieces)  # one token per word piece
    assert [text[start:end] for start, end in row["offsets"]] == row["tokens"]
    tagged = [token for token, tag in zip(row["tokens"], row["ner_tags"], strict=True) if tag != "O"]
    assert "".join(tagged).lower() == "gracehopper"
    assert row["ner_tags"][0] == "B-PER" and all(tag == "O" for tag in row["ner_tags"][len(tagged) :])


def test_sft_chat_puts_system_prompt_and_answer_in_order_and_loads_in_trl(load_jsonl, chat_tokenizer):
    from trl.data_utils import apply_chat_template, is_conversational, maybe_apply_chat_template

    context = context_for(SFT_CONFIG)
    item = DatasetItem(
        task_id=1,
        data={"system": "Answer in one sentence.", "prompt": "What is a tessera?"},
        result=[textarea("answer", "prompt", "A small tile of a mosaic.")],
    )
    unanswered = DatasetItem(task_id=2, data={"system": "", "prompt": "Why?"}, result=[])
    loaded = load_jsonl(written("sft_chat", [item, unanswered], context))
    assert loaded.num_rows == 1
    row = loaded[0]
    assert row["messages"] == [
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "What is a tessera?"},
        {"role": "assistant", "content": "A small tile of a mosaic."},
    ]
    assert is_conversational(row)
    rendered = apply_chat_template(row, chat_tokenizer)["text"]
    assert rendered == (
        "<|system|>Answer in one sentence.<|end|>\n<|user|>What is a tessera?<|end|>\n"
        "<|assistant|>A small tile of a mosaic.<|end|>\n"
    )
    assert (
        loaded.map(maybe_apply_chat_template, fn_kwargs={"processing_class": chat_tokenizer})[0]["text"]
        == rendered
    )


def test_sft_chat_from_a_dialogue_is_multi_turn_with_the_answer_last(load_jsonl, chat_tokenizer):
    from trl.data_utils import apply_chat_template, is_conversational

    context = context_for(DIALOGUE_SFT_CONFIG)
    dialogue = [
        {"author": "Customer", "text": "注文した本が届きません。"},
        {"author": "Agent", "text": "注文番号を教えてください。"},
        {"author": "Customer", "text": "A-1024です。"},
    ]
    item = DatasetItem(
        task_id=3, data={"dialogue": dialogue}, result=[textarea("reply", "dialogue", "明日お届けします。")]
    )
    row = load_jsonl(written("sft_chat", [item], context))[0]
    assert [message["role"] for message in row["messages"]] == ["user", "assistant", "user", "assistant"]
    assert row["messages"][-1]["content"] == "明日お届けします。"
    assert is_conversational(row)
    assert apply_chat_template(row, chat_tokenizer)["text"].endswith(
        "<|assistant|>明日お届けします。<|end|>\n"
    )


def test_sft_chat_from_a_chat_object_keeps_its_roles(load_jsonl):
    config = """<View><Chat name="chat" value="$messages"/><TextArea name="reply" toName="chat"/></View>"""
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Capital of Japan?"},
        {"role": "assistant", "content": "Tokyo."},
        {"role": "user", "content": "And of France?"},
    ]
    item = DatasetItem(task_id=4, data={"messages": messages}, result=[textarea("reply", "chat", "Paris.")])
    row = load_jsonl(written("sft_chat", [item], context_for(config)))[0]
    assert row["messages"] == [*messages, {"role": "assistant", "content": "Paris."}]


def test_dpo_pairs_from_pairwise_are_standard_preference_rows_for_trl(load_jsonl, chat_tokenizer):
    from trl.data_utils import is_conversational, maybe_apply_chat_template, maybe_extract_prompt

    context = context_for(PAIRWISE_CONFIG)
    data = {"prompt": "Name a prime.", "answer1": "Seven.", "answer2": "Nine."}
    left = {
        "from_name": "comparison",
        "to_name": "comparison",
        "type": "pairwise",
        "value": {"selected": "left"},
    }
    right = {**left, "value": {"selected": "right"}}
    items = [
        DatasetItem(task_id=1, data=data, result=[left]),
        DatasetItem(task_id=2, data=data, result=[right]),
        DatasetItem(task_id=3, data={**data, "prompt": ""}, result=[left]),  # no prompt: no row
    ]
    loaded = load_jsonl(written("dpo_pairs", items, context))
    assert loaded.to_list() == [
        {"prompt": "Name a prime.", "chosen": "Seven.", "rejected": "Nine."},
        {"prompt": "Name a prime.", "chosen": "Nine.", "rejected": "Seven."},
    ]
    row = loaded[0]
    assert not is_conversational(row)
    assert maybe_extract_prompt(row) == row  # an explicit prompt stays
    assert maybe_apply_chat_template(row, chat_tokenizer) == row  # standard rows pass through


def test_dpo_pairs_from_a_dialogue_are_in_chat_form_and_trl_renders_them(load_jsonl, chat_tokenizer):
    from trl.data_utils import apply_chat_template, is_conversational, maybe_extract_prompt

    context = context_for(DIALOGUE_PAIRWISE_CONFIG)
    data = {
        "dialogue": [
            {"speaker": "user", "says": "Hi"},
            {"speaker": "bot", "says": "Hello!"},
            {"speaker": "user", "says": "2+2?"},
        ],
        "answer1": "5",
        "answer2": "4",
    }
    result = [
        {
            "from_name": "comparison",
            "to_name": "comparison",
            "type": "pairwise",
            "value": {"selected": "right"},
        }
    ]
    loaded = load_jsonl(written("dpo_pairs", [DatasetItem(task_id=1, data=data, result=result)], context))
    row = loaded[0]
    assert row["prompt"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "2+2?"},
    ]
    assert row["chosen"] == [{"role": "assistant", "content": "4"}]
    assert row["rejected"] == [{"role": "assistant", "content": "5"}]
    assert is_conversational(row)
    assert maybe_extract_prompt(row) == row
    rendered = apply_chat_template(row, chat_tokenizer)
    assert rendered["prompt"].endswith("<|user|>2+2?<|end|>\n<|assistant|>")
    assert rendered["chosen"] == "4<|end|>\n" and rendered["rejected"] == "5<|end|>\n"


def test_dpo_pairs_from_a_ranking_give_every_better_worse_pair(load_jsonl):
    context = context_for(RANKER_CONFIG)
    answers = [{"id": "a", "title": "A", "body": "Paris."}, {"id": "b", "title": "B", "body": "Lyon."}]
    answers.append({"id": "c", "title": "C", "body": "Rome."})
    result = [
        {
            "from_name": "rank",
            "to_name": "answers",
            "type": "ranker",
            "value": {"ranker": {"rank": ["a", "c", "b"]}},
        }
    ]
    item = DatasetItem(task_id=1, data={"prompt": "Capital of France?", "answers": answers}, result=result)
    pairs = [(row["chosen"], row["rejected"]) for row in load_jsonl(written("dpo_pairs", [item], context))]
    assert pairs == [("Paris.", "Rome."), ("Paris.", "Lyon."), ("Rome.", "Lyon.")]


def test_dpo_pairs_from_ranker_buckets_prefer_each_bucket_over_the_later_ones(load_jsonl):
    context = context_for(BUCKET_RANKER_CONFIG)
    answers = [
        {"id": key, "body": body}
        for key, body in (("a", "Paris."), ("b", "Lyon."), ("c", "Rome."), ("d", "Nice."))
    ]
    ranked = {"good": ["a"], "bad": ["c", "b"], "_": ["d"]}
    result = [{"from_name": "rank", "to_name": "answers", "type": "ranker", "value": {"ranker": ranked}}]
    item = DatasetItem(task_id=1, data={"prompt": "Capital of France?", "answers": answers}, result=result)
    pairs = [(row["chosen"], row["rejected"]) for row in load_jsonl(written("dpo_pairs", [item], context))]
    assert pairs == [("Paris.", "Rome."), ("Paris.", "Lyon.")]


def test_dpo_pairs_from_ratings_of_each_answer_skip_ties(load_jsonl):
    context = context_for(RATED_ANSWERS_CONFIG)
    data = {"prompt": "Say hi.", "answer_a": "Hi!", "answer_b": "Hello there.", "answer_c": "Go away."}
    result = [
        {"from_name": name, "to_name": to_name, "type": "rating", "value": {"rating": rating}}
        for name, to_name, rating in (
            ("rating_a", "answer_a", 4),
            ("rating_b", "answer_b", 4),
            ("rating_c", "answer_c", 1),
        )
    ]
    rows = load_jsonl(
        written("dpo_pairs", [DatasetItem(task_id=1, data=data, result=result)], context)
    ).to_list()
    assert [(row["chosen"], row["rejected"]) for row in rows] == [
        ("Hi!", "Go away."),
        ("Hello there.", "Go away."),
    ]
    assert {row["prompt"] for row in rows} == {"Say hi."}


def test_rubric_scores_hold_every_criterion_with_null_where_unscored(load_jsonl):
    context = context_for(RUBRIC_CONFIG)
    scored = [
        {"from_name": "fluency", "to_name": "text", "type": "rating", "value": {"rating": 4}},
        {"from_name": "accuracy", "to_name": "text", "type": "number", "value": {"number": 7.5}},
        choice("safe", "text", "yes"),
    ]
    items = [
        DatasetItem(task_id=1, data={"text": "A fine summary."}, result=scored),
        DatasetItem(task_id=2, data={"text": "Half rated."}, result=scored[:1]),
        DatasetItem(task_id=3, data={"text": "Not rated."}, result=[]),
    ]
    loaded = load_jsonl(written("rubric_scores", items, context))
    assert loaded.to_list() == [
        {"text": "A fine summary.", "scores": {"accuracy": 7.5, "fluency": 4, "safe": "yes"}},
        {"text": "Half rated.", "scores": {"accuracy": None, "fluency": 4, "safe": None}},
    ]


def test_pretraining_corpus_counts_words_and_cjk_characters_by_default(load_jsonl):
    context = context_for(SFT_CONFIG)
    items = [
        DatasetItem(task_id=1, data={"system": "", "prompt": "東京は晴れ。"}, result=[]),
        DatasetItem(
            task_id=2,
            data={"system": "Be brief.", "prompt": "Hello, world"},
            result=[textarea("answer", "prompt", "Hi there")],
        ),
        DatasetItem(task_id=3, data={"system": "", "prompt": ""}, result=[]),
    ]
    loaded = load_jsonl(written("pretraining_corpus", items, context))
    assert loaded.to_list() == [
        {"text": "東京は晴れ。", "tokens": 6},
        {"text": "Be brief.\n\nHello, world\n\nHi there", "tokens": 8},
    ]


def test_pretraining_corpus_counts_with_the_projects_tokenizer(load_jsonl):
    from transformers import AutoTokenizer

    text = "Tokenisation of unbelievably long words"
    rows = load_jsonl(
        written(
            "pretraining_corpus",
            [DatasetItem(task_id=1, data={"text": text}, result=[])],
            context_for(CHOICES_CONFIG, tokenizer=MODEL_DIR),
        )
    ).to_list()
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR, local_files_only=True)
    expected = len(tokenizer.tokenize(text))
    assert expected > len(text.split())  # word pieces: the count is the tokenizer's, not the words'
    assert rows == [{"text": text, "tokens": expected}]


def test_hypertext_is_read_as_its_text():
    config = """<View><HyperText name="page" value="$html"/>
      <Choices name="kind" toName="page"><Choice value="news"/></Choices></View>"""
    item = DatasetItem(
        task_id=1, data={"html": "<p>Rain <b>&amp;</b> wind</p>"}, result=[choice("kind", "page", "news")]
    )
    assert json.loads(written("text_classification", [item], context_for(config))) == {
        "label": "news",
        "text": "Rain & wind",
    }


def test_writing_the_same_items_twice_gives_the_same_bytes():
    context = context_for(NER_CONFIG)
    text = "東京 and Kyoto"
    items = [
        DatasetItem(
            task_id=1, data={"text": text}, result=[span(text, "Kyoto", "LOC"), span(text, "東京", "LOC")]
        )
    ]
    assert written("token_classification", items, context) == written("token_classification", items, context)
    line = json.loads(written("token_classification", items, context))
    assert list(line) == sorted(line)


@pytest.mark.parametrize(
    ("name", "config", "reason"),
    [
        (
            "text_classification",
            IMAGE_CONFIG,
            "Text classification needs a Choices control on a Text or HyperText object",
        ),
        ("text_classification", NER_CONFIG, "Text classification needs a Choices control"),
        (
            "token_classification",
            CHOICES_CONFIG,
            "Token classification needs a Labels control on a Text object",
        ),
        (
            "token_classification",
            IMAGE_CONFIG,
            "Token classification needs a Labels control on a Text object",
        ),
        ("sft_chat", CHOICES_CONFIG, "SFT chat needs a TextArea control"),
        ("dpo_pairs", CHOICES_CONFIG, "Preference pairs need a Pairwise control"),
        ("rubric_scores", NER_CONFIG, "Rubric scores need Rating, Number or Choices controls"),
        ("pretraining_corpus", IMAGE_CONFIG, "A pre-training corpus needs text"),
    ],
)
def test_a_shape_the_config_cannot_give_says_why(name, config, reason):
    assert reason in (DATASET_FORMATS[name].fits(context_for(config)) or "")


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("text_classification", CHOICES_CONFIG),
        ("text_classification", MULTI_CHOICES_CONFIG),
        ("token_classification", NER_CONFIG),
        ("sft_chat", SFT_CONFIG),
        ("sft_chat", DIALOGUE_SFT_CONFIG),
        ("dpo_pairs", PAIRWISE_CONFIG),
        ("dpo_pairs", DIALOGUE_PAIRWISE_CONFIG),
        ("dpo_pairs", RANKER_CONFIG),
        ("dpo_pairs", RATED_ANSWERS_CONFIG),
        ("rubric_scores", RUBRIC_CONFIG),
        ("pretraining_corpus", NER_CONFIG),
    ],
)
def test_a_shape_the_config_can_give_fits(name, config):
    assert DATASET_FORMATS[name].fits(context_for(config)) is None


@pytest.mark.parametrize("name", ["token_classification", "pretraining_corpus"])
def test_a_tokenizer_folder_without_a_tokenizer_is_refused_before_a_build(name, tmp_path):
    reason = DATASET_FORMATS[name].fits(context_for(NER_CONFIG, tokenizer=str(tmp_path)))
    assert reason and str(tmp_path) in reason and "tokenizer.json" in reason
    assert DATASET_FORMATS[name].fits(context_for(NER_CONFIG, tokenizer=MODEL_DIR)) is None


def test_a_pairwise_config_without_a_prompt_is_refused():
    config = """<View><Text name="a" value="$a"/><Text name="b" value="$b"/><Pairwise name="pick" toName="a,b"/></View>"""
    assert "need a prompt" in (DATASET_FORMATS["dpo_pairs"].fits(context_for(config)) or "")


def test_fits_reasons_are_translated_into_japanese():
    with translation.override("ja"):
        reason = DATASET_FORMATS["token_classification"].fits(context_for(CHOICES_CONFIG))
    assert reason and "Labels" in reason and "Token classification" not in reason
