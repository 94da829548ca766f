from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation: projects, tasks, annotations, predictions, the labeling queue"
