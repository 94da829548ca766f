from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """Model registry, pre-labelers and training jobs. Its queues (prelabel, gpu) are routed in tessera/celery.py."""

    name = "training"
    verbose_name = "Training: models, pre-labelers, training jobs"
