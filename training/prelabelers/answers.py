"""Results that a server outside Tessera answered, checked before they become predictions. Plain Python.

The checks are the import's (``annotation.results.ResultValidator``: the SDK's region checks, span
offsets inside the task's text) plus what storing them needs (no NUL or lone surrogate, the result
size cap). A result that fails becomes ``Dropped`` with the reason, counted by the job, never written.
"""

import json

from django.conf import settings
from django.utils.translation import gettext as _

from annotation.label_config import LabelSchema
from annotation.results import ResultValidator
from tessera import validation
from tessera.errors import ApplicationError

MAX_REASON_CHARS = 500


class ResultCheck:
    """Checks many results against one project's config, remembering shapes already passed."""

    def __init__(self, schema: LabelSchema):
        self.validator = ResultValidator(schema)

    def refusal(self, result: object, data: dict) -> str | None:
        """Why ``result`` does not fit the config and the task's data, or None when it fits."""
        try:
            if not isinstance(result, list):
                return _("The result is not a list of regions.")
            validation.check_json(result, field="result")
            text = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
            if len(text.encode("utf-8")) > settings.TESSERA_MAX_RESULT_BYTES:
                return _("The result is larger than %(limit)s bytes.") % {
                    "limit": settings.TESSERA_MAX_RESULT_BYTES
                }
            self.validator.validate(result, data, field="", text=text)
        except ApplicationError as exc:
            reason = f"{exc.field}: {exc.message}" if exc.field else exc.message
            return validation.printable(reason)[:MAX_REASON_CHARS]
        return None
