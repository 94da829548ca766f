"""Backend name -> class. Imported lazily: a backend's model libraries load only when it is used."""

from importlib import import_module

from training.models import PrelabelBackend
from training.prelabelers.base import Backend

BACKEND_CLASSES: dict[str, str] = {
    PrelabelBackend.EMBEDDING_CLASSIFIER: "training.prelabelers.embedding_classifier.EmbeddingClassifier",
    PrelabelBackend.ZERO_SHOT: "training.prelabelers.zero_shot.ZeroShot",
    PrelabelBackend.SPAN_RULES: "training.prelabelers.span_rules.SpanRules",
    PrelabelBackend.REGISTRY_MODEL: "training.prelabelers.registry_model.RegistryModel",
    PrelabelBackend.ML_BACKEND: "training.prelabelers.ml_backend.MLBackend",
    PrelabelBackend.OPENAI_CHAT: "training.prelabelers.openai_chat.OpenAIChat",
}


def backend_class(name: str) -> type[Backend]:
    module, _, attr = BACKEND_CLASSES[name].rpartition(".")
    return getattr(import_module(module), attr)
