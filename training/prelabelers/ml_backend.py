"""A Label Studio ML backend over HTTP: ``GET /health``, ``POST /setup``, ``POST /predict``.

The protocol of label-studio-ml-backend (``label_studio_ml/api.py``) as Label Studio speaks it
(``ml/api_connector.py``): ``/setup`` takes the project's id and label config (``schema``) and answers
the model version; ``/predict`` takes ``{"tasks", "label_config", "project", "model_version",
"params": {"context": null}}`` and answers ``{"results": [{"result", "score", "model_version"}, …]}``,
one per task in the order sent (older servers answer the list alone). Every call goes through
``tessera.outbound`` (address checks, no redirects, timeouts, size cap); every result is checked
against the project's config as an import checks it, and one that does not fit is dropped with the
reason. Label Studio also sends the project owner's API token to ``/setup``; Tessera sends none.
"""

import hashlib
from typing import Any

from django.conf import settings as django_settings
from django.utils.translation import gettext as _
from rest_framework import serializers

from tessera import outbound, validation
from tessera.errors import ApplicationError
from tessera.outbound import OutboundError
from training.models import PrelabelBackend
from training.prelabelers.answers import ResultCheck
from training.prelabelers.base import Backend, Dropped, PredictionOut, TaskInput

AUTH_METHODS = ("NONE", "BASIC_AUTH")
STATE_CONNECTED = "CO"
STATE_ERROR = "ER"
STATE_DISCONNECTED = "DI"


def checked_url(value: str) -> str:
    """A DRF field check: the URL's form and every address it resolves to (tessera.outbound's rules)."""
    try:
        return outbound.check_url(value)
    except OutboundError as exc:
        raise serializers.ValidationError(exc.message) from None


def checked_text(value: str) -> str:
    try:
        return validation.check_text(value, field=None)
    except ApplicationError as exc:
        raise serializers.ValidationError(exc.message) from None


class MLBackendSettings(serializers.Serializer):
    url = serializers.CharField(
        max_length=outbound.MAX_URL_CHARS,
        help_text="The ML backend's base URL (http or https); /health, /setup and /predict are called under it. "
        "Private, loopback and metadata addresses are refused unless TESSERA_OUTBOUND_ALLOWED_NETWORKS "
        "allows them.",
    )
    timeout = serializers.FloatField(
        default=None,
        allow_null=True,
        min_value=1,
        max_value=3600,
        help_text="Seconds for one whole answer (null: TESSERA_OUTBOUND_TIMEOUT_SECONDS).",
    )
    auth_method = serializers.ChoiceField(choices=AUTH_METHODS, default="NONE")
    basic_auth_user = serializers.CharField(default="", allow_blank=True, max_length=500)
    basic_auth_pass = serializers.CharField(
        default="",
        allow_blank=True,
        max_length=500,
        trim_whitespace=False,
        help_text="Write-only: never shown again (output says basic_auth_pass_is_set).",
    )
    extra_params = serializers.DictField(
        default=dict, help_text="Sent to /setup as extra_params (Label Studio's field)."
    )
    description = serializers.CharField(default="", allow_blank=True, max_length=5000)
    is_interactive = serializers.BooleanField(default=False)
    auto_update = serializers.BooleanField(
        default=True, help_text="Take the model version /setup answers (else keep the one set by hand)."
    )

    def validate_url(self, value: str) -> str:
        return checked_url(value)

    def validate_basic_auth_user(self, value: str) -> str:
        return checked_text(value)

    def validate_basic_auth_pass(self, value: str) -> str:
        return checked_text(value)

    def validate_description(self, value: str) -> str:
        return checked_text(value)

    def validate_extra_params(self, value: dict) -> dict:
        try:
            validation.check_json(value, field=None)
        except ApplicationError as exc:
            raise serializers.ValidationError(exc.message) from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("auth_method") == "BASIC_AUTH" and not (
            attrs.get("basic_auth_user") and attrs.get("basic_auth_pass")
        ):
            raise serializers.ValidationError(
                {"basic_auth_user": _("Basic authentication needs a user name and a password.")}
            )
        return attrs


class MLBackend(Backend):
    name = PrelabelBackend.ML_BACKEND
    batch_size = 32
    settings_serializer = MLBackendSettings
    secret_settings = ("basic_auth_pass",)

    def _call(self, method: str, path: str, body: Any = None) -> outbound.OutboundResponse:
        auth = None
        if self.settings.get("auth_method") == "BASIC_AUTH":
            auth = (self.settings.get("basic_auth_user", ""), self.settings.get("basic_auth_pass", ""))
        return outbound.request(
            method,
            outbound.join_url(self.settings["url"], path),
            json_body=body,
            basic_auth=auth,
            timeout=self.settings.get("timeout"),
        )

    def project_uid(self) -> str:
        """Label Studio's project key for ML backends: the id and the creation time."""
        project = self.prelabeler.project
        return f"{project.pk}.{int(project.created_at.timestamp())}"

    def health(self) -> None:
        self._call("GET", "health")

    def setup(self) -> str:
        """Tell the server about the project; the model version it answers ("" when none)."""
        body: dict[str, Any] = {
            "project": self.project_uid(),
            "schema": self.schema.config,
            "hostname": django_settings.TESSERA_PUBLIC_URL,
            "access_token": "",
            "model_version": self.prelabeler.model_version,
        }
        if self.settings.get("extra_params"):
            body["extra_params"] = self.settings["extra_params"]
        answer = self._call("POST", "setup", body).json()
        version = answer.get("model_version") if isinstance(answer, dict) else None
        if not isinstance(version, str | int | float) or isinstance(version, bool):
            return ""
        return validation.printable(str(version))[:200]

    def connect(self) -> tuple[str, str | None, str]:
        """Health, then setup, as Label Studio checks a new backend: (state, error message, model version)."""
        try:
            self.health()
            version = self.setup()
        except OutboundError as exc:
            return STATE_ERROR, exc.message, ""
        return STATE_CONNECTED, None, version

    def model_version(self) -> str:
        if self.prelabeler.model_version:
            return self.prelabeler.model_version
        digest = hashlib.sha256(self.settings.get("url", "").encode("utf-8", "replace")).hexdigest()
        return f"ml_backend:{digest[:10]}"

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        if not tasks:
            return []
        body = {
            "tasks": [
                {"id": task.id, "data": task.data, "annotations": [], "predictions": []} for task in tasks
            ],
            "model_version": self.model_version(),
            "project": self.project_uid(),
            "label_config": self.schema.config,
            "params": {"context": None},
        }
        response = self._call("POST", "predict", body)
        payload = response.json()
        items = payload.get("results") if isinstance(payload, dict) else payload
        if not isinstance(items, list):
            raise OutboundError(
                _("%(host)s answered /predict without a list of results.") % {"host": response.host},
                code="invalid_json",
            )
        check = ResultCheck(self.schema)
        answers: list[PredictionOut | Dropped] = []
        for index, task in enumerate(tasks):
            if index >= len(items):
                answers.append(Dropped(task.id, _("The ML backend answered no prediction for this task.")))
                continue
            answers.append(self._answer(task, items[index], check))
        return answers

    def _answer(self, task: TaskInput, item: object, check: ResultCheck) -> PredictionOut | Dropped:
        score: object = None
        if isinstance(item, dict):
            result = item.get("result")
            score = item.get("score")
        else:
            result = item  # the oldest servers answer the regions alone
        reason = check.refusal(result, task.data)
        if reason is not None:
            return Dropped(task.id, reason)
        assert isinstance(result, list)
        # Scores outside 0..1 (log-probabilities, percentages) are the server's own scale: not kept.
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
            return PredictionOut(task.id, result)
        return PredictionOut(task.id, result, score=float(score), uncertainty=1.0 - float(score))
