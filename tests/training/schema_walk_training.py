"""The base-model and training-estimate endpoints driven through every answer their schema documents, for
tests/test_openapi_schema.py (which checks each answer against the schema and that none is left out)."""

import tempfile
from pathlib import Path
from typing import Any

from tests.training.runner_support import tiny_bert


def walk_training(call: Any, settings: Any) -> None:
    admin, manager, annotator, outsider = call("admin"), call("manager"), call("annotator"), call("outsider")
    with tempfile.TemporaryDirectory() as root:
        settings.TESSERA_MODEL_ROOTS = [root]
        folder = tiny_bert(Path(root) / "tiny")

        listed = annotator(
            "get", "/api/base-models/", expect=200
        )  # all-MiniLM-L6-v2, registered on first look
        minilm = listed[0]["id"]
        created = admin("post", "/api/base-models/", {"name": "tiny", "path": str(folder)}, expect=201)
        admin("post", "/api/base-models/", {"name": "tiny", "path": str(folder)}, expect=409)
        admin("post", "/api/base-models/", {"name": "elsewhere", "path": "/etc"}, expect=400)
        manager("post", "/api/base-models/", {"name": "tiny 2", "path": str(folder)}, expect=403)
        detail = f"/api/base-models/{created['id']}/"
        annotator("get", detail, expect=200)
        outsider("get", detail, expect=404)

        estimate = "/api/training-jobs/estimate"
        manager(
            "post",
            estimate,
            {"recipe": "text_classification", "base_model": minilm, "tokens": 10**6},
            expect=200,
        )
        manager(
            "post",
            estimate,
            {
                "recipe": "pretraining_from_scratch",
                "tokens": 10**8,
                "resources": {"gpus": 8, "gpu_type": "H200"},
            },
            expect=200,
        )
        manager("post", estimate, {"recipe": "sft", "base_model": minilm, "tokens": 10**6}, expect=400)
        annotator(
            "post", estimate, {"recipe": "text_classification", "base_model": minilm, "tokens": 1}, expect=403
        )

        manager("delete", detail, expect=403)
        outsider("delete", detail, expect=404)
        admin("delete", detail, expect=204)
