"""Label config checks are bounded: element, attribute and nesting limits refuse a costly config
before label-studio-sdk parses it, the parse cache is bounded by size, and checks are throttled."""

import time

import pytest

from annotation import label_config
from annotation.label_config import parse_label_config
from tessera.errors import ApplicationError
from tests.conftest import SENTIMENT_CONFIG, post_json


def _config(choices: int, attributes_each: int = 0) -> str:
    extra = " ".join(f'hint{i}="x"' for i in range(attributes_each))
    body = "".join(f'<Choice value="c{i}" {extra}/>' for i in range(choices))
    return f'<View><Text name="text" value="$text"/><Choices name="s" toName="text">{body}</Choices></View>'


def test_a_256_kb_config_with_thousands_of_attributes_is_refused_fast():
    config = _config(1100, attributes_each=20)  # 22,000 attributes
    assert 200_000 < len(config.encode()) <= 256 * 1024
    started = time.process_time()
    with pytest.raises(ApplicationError) as refused:
        parse_label_config(config, max_bytes=256 * 1024)
    assert time.process_time() - started < 0.5
    assert refused.value.code == "too_complex" and "attributes; the limit is 10000" in refused.value.message


@pytest.mark.parametrize(
    ("config", "limit"),
    [
        (_config(2500), "elements; the limit is 2000"),
        (
            "<View>" * 40 + '<Text name="t" value="$t"/>' + "</View>" * 40,
            "levels of nesting; the limit is 32",
        ),
    ],
)
def test_configs_beyond_the_limits_are_refused_naming_the_limit(config, limit):
    with pytest.raises(ApplicationError) as refused:
        parse_label_config(config, max_bytes=256 * 1024)
    assert limit in refused.value.message


def test_limits_are_settings(settings):
    label_config._CACHE.clear()
    settings.TESSERA_LABEL_CONFIG_MAX_ELEMENTS = 3
    with pytest.raises(ApplicationError, match="elements; the limit is 3"):
        parse_label_config(SENTIMENT_CONFIG, max_bytes=256 * 1024)


def test_the_parse_cache_is_bounded_by_size(settings):
    label_config._CACHE.clear()
    configs = [_config(50 + i) for i in range(12)]
    size = len(configs[0].encode()) * label_config.PARSED_BYTES_PER_CONFIG_BYTE
    settings.TESSERA_LABEL_CONFIG_CACHE_BYTES = size * 5
    for config in configs:
        parse_label_config(config, max_bytes=256 * 1024)
    assert 1 <= len(label_config._CACHE.entries) <= 5
    assert label_config._CACHE.weight <= settings.TESSERA_LABEL_CONFIG_CACHE_BYTES
    # The most recent stays; the oldest went first.
    assert configs[-1] in label_config._CACHE.entries and configs[0] not in label_config._CACHE.entries


@pytest.mark.django_db
def test_validate_refuses_a_complex_config_with_400(api):
    response = post_json(api("annotator"), "/api/projects/validate/", {"label_config": _config(2500)})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_complex"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/projects/validate/", "project"])
def test_validate_is_throttled_per_user_with_retry_after(api, make_project, monkeypatch, path):
    from annotation.api.views import LabelConfigValidateThrottle

    # The rate is read from settings when DRF loads; here the throttle class gets a smaller one.
    monkeypatch.setattr(LabelConfigValidateThrottle, "THROTTLE_RATES", {"label_config_validate": "3/min"})
    url = f"/api/projects/{make_project().pk}/validate/" if path == "project" else path
    annotator = api("annotator")
    for _ in range(3):
        assert post_json(annotator, url, {"label_config": SENTIMENT_CONFIG}).status_code == 200
    refused = post_json(annotator, url, {"label_config": SENTIMENT_CONFIG})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused.json()["error"]["code"] == "throttled"
    # Per user: another member is not held back by the first one's checks.
    assert post_json(api("manager"), url, {"label_config": SENTIMENT_CONFIG}).status_code == 200
