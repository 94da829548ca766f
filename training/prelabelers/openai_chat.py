"""An OpenAI-compatible chat endpoint (vLLM, TGI, llama.cpp, Ollama serve one): a prompt per task.

``POST {url}/v1/chat/completions`` (``url`` may end in ``/v1`` already) with the project's prompt
template filled from the task's data. The answer fills one control, ``target``:

- TextArea: the answer is the text (draft answers for supervised fine-tuning);
- Choices: the answer must name a label of the control (the label alone, any case, or JSON
  ``{"label": …}``, ``{"labels": […]}`` or ``[…]``); anything else is dropped with the reason;
- Labels (spans): a JSON list of ``{"text", "label"}``, each text found in the task's text
  (offsets in code points, as Label Studio counts them); an entity that is not found, or a label the
  control does not have, drops the answer.

Placeholders in the template are ``{name}`` for the task's ``$name`` and ``{labels}`` for the
target's labels, comma-separated; ``{{`` and ``}}`` are a brace; any other text, lone braces
included (a JSON example), is sent as written. A reasoning
model's ``<think>…</think>`` and Markdown code fences around JSON are taken off first.
"""

import hashlib
import json
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from tessera import outbound
from tessera.outbound import OutboundError
from training.models import PrelabelBackend
from training.prelabelers.answers import ResultCheck
from training.prelabelers.base import Backend, BackendUnfit, Dropped, PredictionOut, TaskInput
from training.prelabelers.ml_backend import checked_text, checked_url

TARGET_TAGS = ("textarea", "choices", "labels")
LABELS_PLACEHOLDER = "labels"
# {name}, and {{ and }} for a brace written as such.
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_THINKING = re.compile(r"^\s*<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)
_LABEL_EDGES = " \t\r\n\"'`.,;:!*"
MAX_PROMPT_CHARS = 20_000

DEFAULT_TEMPLATES = {
    "textarea": "{%s}",
    "choices": "Classify the text below. Answer with exactly one of these labels and nothing else: "
    "{labels}.\n\n{%s}",
    "labels": 'Find the entities in the text below. Answer only with a JSON list of objects {"text": '
    '"<the exact words from the text>", "label": "<one of: {labels}>"}, or [] when there is none.\n\n{%s}',
}


class OpenAIChatSettings(serializers.Serializer):
    url = serializers.CharField(
        max_length=outbound.MAX_URL_CHARS,
        help_text="The server's base URL; /v1/chat/completions is added (not twice when the URL ends in /v1). "
        "Private, loopback and metadata addresses are refused unless TESSERA_OUTBOUND_ALLOWED_NETWORKS "
        "allows them.",
    )
    model = serializers.CharField(
        default="", allow_blank=True, max_length=200, help_text="The model name; empty: none sent."
    )
    api_key = serializers.CharField(
        default="",
        allow_blank=True,
        max_length=2000,
        help_text="Sent as a Bearer token. Write-only: output says api_key_is_set.",
    )
    prompt_template = serializers.CharField(
        default="",
        allow_blank=True,
        max_length=MAX_PROMPT_CHARS,
        trim_whitespace=False,
        help_text="The user message: {name} is the task's $name, {labels} the target's labels. "
        "Empty: a prompt made for the target's kind (the text alone for a TextArea).",
    )
    system_prompt = serializers.CharField(
        default="", allow_blank=True, max_length=MAX_PROMPT_CHARS, trim_whitespace=False
    )
    temperature = serializers.FloatField(default=0.0, min_value=0, max_value=2)
    max_tokens = serializers.IntegerField(default=256, min_value=1, max_value=32768)
    target = serializers.CharField(
        default="",
        allow_blank=True,
        max_length=200,
        help_text="The name of the control to fill (TextArea, Choices or Labels); empty: the first such control.",
    )
    timeout = serializers.FloatField(
        default=None,
        allow_null=True,
        min_value=1,
        max_value=3600,
        help_text="Seconds for one answer (null: TESSERA_OUTBOUND_TIMEOUT_SECONDS).",
    )
    concurrency = serializers.IntegerField(
        default=4, min_value=1, max_value=16, help_text="Requests in flight at once."
    )

    def validate_url(self, value: str) -> str:
        return checked_url(value)

    def validate_model(self, value: str) -> str:
        return checked_text(value)

    def validate_api_key(self, value: str) -> str:
        # It goes into a header: printable ASCII without spaces, so nothing can end the header early.
        if not all(0x21 <= ord(char) <= 0x7E for char in value):
            raise serializers.ValidationError(_("The API key may hold printable ASCII characters only."))
        return value

    def validate_prompt_template(self, value: str) -> str:
        return checked_text(value)

    def validate_system_prompt(self, value: str) -> str:
        return checked_text(value)

    def validate_target(self, value: str) -> str:
        return checked_text(value)


def completions_url(base: str) -> str:
    trimmed = base.rstrip("/")
    if trimmed.endswith("/chat/completions"):
        return trimmed
    if trimmed.endswith("/v1"):
        return f"{trimmed}/chat/completions"
    return f"{trimmed}/v1/chat/completions"


def _clean(answer: str) -> str:
    answer = _THINKING.sub("", answer).strip()
    fenced = _FENCE.match(answer)
    return fenced.group(1).strip() if fenced else answer


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _region_id() -> str:
    return secrets.token_hex(5)


class OpenAIChat(Backend):
    name = PrelabelBackend.OPENAI_CHAT
    batch_size = 16
    settings_serializer = OpenAIChatSettings
    secret_settings = ("api_key",)

    # ---- the config ----------------------------------------------------------------------------------

    def _target(self) -> tuple[str, str, str]:
        """(control name, its tag, the object it points at)."""
        name = self.settings.get("target") or ""
        if name:
            control = self.schema.controls.get(name)
            if control is None:
                raise BackendUnfit(
                    _("The label config has no control named %(name)r.") % {"name": name},
                    field="settings.target",
                )
            if control.tag not in TARGET_TAGS:
                raise BackendUnfit(
                    _("%(name)r is a %(tag)s; a chat answer fills a TextArea, Choices or Labels control.")
                    % {"name": name, "tag": control.type},
                    field="settings.target",
                )
        else:
            found = [control for control in self.schema.controls.values() if control.tag in TARGET_TAGS]
            if not found:
                raise BackendUnfit(
                    _(
                        "The label config has no TextArea, Choices or Labels control for a chat answer to fill."
                    ),
                    field="backend",
                )
            control = found[0]
        if not control.to_names or control.to_names[0] not in self.schema.objects:
            raise BackendUnfit(
                _("%(name)r points at no object of the config.") % {"name": control.name},
                field="settings.target",
            )
        to_name = control.to_names[0]
        if control.tag == "labels" and to_name not in self.schema.text_variables:
            raise BackendUnfit(
                _(
                    "%(name)r labels spans of %(object)r, which is not a text: a chat answer fills text spans only."
                )
                % {"name": control.name, "object": to_name},
                field="settings.target",
            )
        if control.tag in ("choices", "labels") and not control.labels:
            raise BackendUnfit(
                _("%(name)r has no labels to choose from.") % {"name": control.name}, field="settings.target"
            )
        return control.name, control.tag, to_name

    def _template(self, tag: str, to_name: str) -> str:
        template = self.settings.get("prompt_template") or ""
        return template or DEFAULT_TEMPLATES[tag] % self.schema.objects[to_name].variable

    def check(self) -> None:
        name, tag, to_name = self._target()
        known = set(self.schema.variables) | {LABELS_PLACEHOLDER}
        for placeholder in _PLACEHOLDER.findall(self._template(tag, to_name)):
            if placeholder and placeholder not in known:
                raise BackendUnfit(
                    _(
                        "The prompt template reads {%(name)s}, which is neither a $variable of the config (%(known)s) nor {labels}."
                    )
                    % {"name": placeholder, "known": ", ".join(sorted(self.schema.variables)) or "-"},
                    field="settings.prompt_template",
                )

    def model_version(self) -> str:
        shown = {
            key: self.settings.get(key)
            for key in (
                "url",
                "model",
                "prompt_template",
                "system_prompt",
                "temperature",
                "max_tokens",
                "target",
            )
        }
        digest = hashlib.sha256(json.dumps(shown, sort_keys=True).encode("utf-8", "replace")).hexdigest()
        model = (self.settings.get("model") or "default")[:150]
        return f"openai_chat:{model}:{digest[:10]}"

    # ---- predicting ----------------------------------------------------------------------------------

    def prompt(self, task: TaskInput) -> str:
        name, tag, to_name = self._target()
        labels = ", ".join(self.schema.controls[name].labels)

        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if key is None:  # {{ or }}
                return match.group()[0]
            if key == LABELS_PLACEHOLDER and key not in task.data:
                return labels
            value = task.data.get(key)
            if value is None:
                return ""
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

        return _PLACEHOLDER.sub(fill, self._template(tag, to_name))

    def ask(self, prompt: str) -> str | None:
        """The model's answer to one prompt (None when the message holds no text)."""
        messages = []
        if self.settings.get("system_prompt"):
            messages.append({"role": "system", "content": self.settings["system_prompt"]})
        messages.append({"role": "user", "content": prompt})
        body: dict[str, Any] = {
            "messages": messages,
            "temperature": self.settings.get("temperature", 0.0),
            "max_tokens": self.settings.get("max_tokens", 256),
            "stream": False,
        }
        if self.settings.get("model"):
            body["model"] = self.settings["model"]
        response = outbound.request(
            "POST",
            completions_url(self.settings["url"]),
            json_body=body,
            bearer_token=self.settings.get("api_key") or None,
            timeout=self.settings.get("timeout"),
        )
        payload = response.json()
        try:
            message = payload["choices"][0]["message"]
        except (KeyError, IndexError, TypeError):
            raise OutboundError(
                _("%(host)s answered without choices[0].message: not an OpenAI-compatible chat answer.")
                % {"host": response.host},
                code="invalid_json",
            ) from None
        content = message.get("content") if isinstance(message, dict) else None
        return content if isinstance(content, str) else None

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        if not tasks:
            return []
        self._target()  # the config may have changed since the settings were saved
        workers = min(int(self.settings.get("concurrency") or 1), len(tasks))
        # One request per task; the threads only wait on sockets. An error fails the batch.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            answers = list(pool.map(lambda task: self.ask(self.prompt(task)), tasks))
        check = ResultCheck(self.schema)
        return [self.answer(task, answer, check) for task, answer in zip(tasks, answers, strict=True)]

    def answer(self, task: TaskInput, answer: str | None, check: ResultCheck) -> PredictionOut | Dropped:
        """The answer as a result for the target, checked; Dropped with the reason when it does not fit."""
        name, tag, to_name = self._target()
        text = _clean(answer or "")
        if not text:
            return Dropped(task.id, _("The model answered nothing."))
        region: dict[str, Any] = {"from_name": name, "to_name": to_name, "type": tag}
        if tag == "textarea":
            result = [{"id": _region_id(), **region, "value": {"text": [text]}}]
        elif tag == "choices":
            chosen = self._choices(text, self.schema.controls[name].labels)
            if isinstance(chosen, str):
                return Dropped(task.id, chosen)
            result = [{"id": _region_id(), **region, "value": {"choices": chosen}}]
        else:
            spans = self._spans(text, task.data.get(self.schema.text_variables[to_name]))
            if isinstance(spans, str):
                return Dropped(task.id, spans)
            result = [{"id": _region_id(), **region, "value": value} for value in spans]
        reason = check.refusal(result, task.data)
        return Dropped(task.id, reason) if reason is not None else PredictionOut(task.id, result)

    @staticmethod
    def _label(value: object, labels: tuple[str, ...]) -> str | None:
        if not isinstance(value, str):
            return None
        wanted = value.strip(_LABEL_EDGES).casefold()
        return next((label for label in labels if label.casefold() == wanted), None)

    def _choices(self, text: str, labels: tuple[str, ...]) -> list[str] | str:
        """The labels the answer names, or the reason it names none."""
        parsed = _json_or_none(text)
        if isinstance(parsed, dict):
            parsed = next(
                (parsed[key] for key in ("label", "labels", "choice", "choices") if key in parsed), None
            )
        values = parsed if isinstance(parsed, list) else [parsed if isinstance(parsed, str) else text]
        chosen = [self._label(value, labels) for value in values]
        if not chosen or any(label is None for label in chosen):
            return _("The answer %(answer)r names no label of the control (%(labels)s).") % {
                "answer": text[:200],
                "labels": ", ".join(labels),
            }
        return list(dict.fromkeys(label for label in chosen if label is not None))

    def _spans(self, text: str, source: object) -> list[dict[str, Any]] | str:
        """Span values for the entities the answer lists, found in the task's text; or the reason it fails."""
        if not isinstance(source, str):
            return _("The task has no text for the spans.")
        parsed = _json_or_none(text)
        if isinstance(parsed, dict):  # {"entities": [...]}: a list under the object's only key
            lists = [value for value in parsed.values() if isinstance(value, list)]
            parsed = lists[0] if len(lists) == 1 else None
        if not isinstance(parsed, list):
            return _('The answer is not a JSON list of {"text", "label"} objects: %(answer)r') % {
                "answer": text[:200]
            }
        labels = self.schema.controls[self._target()[0]].labels
        values: list[dict[str, Any]] = []
        seen: set[tuple[int, int, str]] = set()
        searched_from: dict[str, int] = {}
        for index, entity in enumerate(parsed):
            words = entity.get("text") if isinstance(entity, dict) else None
            label = self._label(entity.get("label"), labels) if isinstance(entity, dict) else None
            if not isinstance(words, str) or not words:
                return _("Entity %(index)s has no text.") % {"index": index}
            if label is None:
                return _("Entity %(index)s names no label of the control (%(labels)s).") % {
                    "index": index,
                    "labels": ", ".join(labels),
                }
            # Each mention of the same words takes the next occurrence; past the last, the first again.
            start = source.find(words, searched_from.get(words, 0))
            if start < 0:
                start = source.find(words)
            if start < 0:
                return _("Entity %(index)s, %(text)r, is not in the task's text.") % {
                    "index": index,
                    "text": words[:100],
                }
            end = start + len(words)
            searched_from[words] = end
            if (start, end, label) in seen:
                continue
            seen.add((start, end, label))
            values.append({"start": start, "end": end, "text": words, "labels": [label]})
        return values
