"""Request and response shapes of the dataset version endpoints, for the OpenAPI schema only."""

from rest_framework import serializers

from annotation.models import JobState
from tessera.api.schemas import UserSimpleOut


class DatasetFileOut(serializers.Serializer):
    format = serializers.CharField(help_text='A recipe format, or "card" (README.md) or "manifest".')
    split = serializers.CharField(allow_null=True, help_text="null for a file that holds every split.")
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField(help_text="Also the download's ETag.")


class DatasetProgressOut(serializers.Serializer):
    done = serializers.IntegerField(help_text="Items read so far.")
    total = serializers.IntegerField(help_text="Tasks the recipe selected when the version was made.")


class DatasetCountsOut(serializers.Serializer):
    total = serializers.IntegerField(required=False)
    splits = serializers.DictField(child=serializers.IntegerField(), required=False)
    labels = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        required=False,
        help_text="Per split: {label: tasks}, the first label of each task's result.",
    )


class StepReportOut(serializers.Serializer):
    name = serializers.CharField(help_text='"dedup_exact", "dedup_near" or "redact".')
    removed = serializers.IntegerField()
    changed = serializers.IntegerField()
    details = serializers.DictField()


class DatasetVersionOut(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=JobState.values, help_text="The same values as import jobs.")
    progress = DatasetProgressOut()
    recipe = serializers.DictField(help_text="The recipe as checked, every default filled in.")
    counts = DatasetCountsOut()
    steps = StepReportOut(many=True)
    files = DatasetFileOut(many=True)
    manifest_sha256 = serializers.CharField(allow_blank=True)
    card = serializers.CharField(
        allow_null=True, required=False, help_text="The README.md, once built (on a single version only)."
    )
    error = serializers.DictField(allow_null=True)
    attempts = serializers.IntegerField()
    created_by = UserSimpleOut(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(
        allow_null=True, help_text="When a worker began the build (its latest attempt)."
    )
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_fields(self):
        # "parent" is also the serializer's own attribute (its parent serializer): added here instead.
        fields = super().get_fields()
        fields["parent"] = serializers.IntegerField(
            allow_null=True, help_text="The project's previous completed version."
        )
        return fields


class DatasetRecipeIn(serializers.Serializer):
    name = serializers.CharField(required=False)
    tasks = serializers.DictField(required=False, help_text='The data table\'s {"filters", "selectedItems"}.')
    review = serializers.ListField(child=serializers.CharField(), required=False)
    min_agreement = serializers.FloatField(required=False)
    gold = serializers.ChoiceField(choices=["include", "exclude", "only"], required=False)
    result = serializers.ChoiceField(choices=["consensus", "reviewed", "latest", "all"], required=False)
    splits = serializers.DictField(child=serializers.FloatField(), required=False)
    seed = serializers.IntegerField(required=False)
    stratify = serializers.BooleanField(required=False)
    group_by = serializers.CharField(required=False)
    dedup = serializers.DictField(required=False, help_text='{"exact": bool, "near_threshold": (0, 1]}')
    redact = serializers.ListField(child=serializers.CharField(), required=False)
    formats = serializers.ListField(child=serializers.CharField())


class DatasetDiffSamplesOut(serializers.Serializer):
    added = serializers.ListField(child=serializers.IntegerField())
    removed = serializers.ListField(child=serializers.IntegerField())
    relabeled = serializers.ListField(child=serializers.IntegerField())


class DatasetDiffOut(serializers.Serializer):
    base = serializers.IntegerField(help_text="The other version (?other=).")
    version = serializers.IntegerField()
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    relabeled = serializers.IntegerField(help_text="Held in both, with other annotations.")
    samples = DatasetDiffSamplesOut()


# ---- Label Studio's snapshot API -------------------------------------------------------------------


class ConvertedFormatOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    export_type = serializers.CharField()
    traceback = serializers.CharField(allow_null=True)


class SnapshotOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=JobState.values)
    created_by = UserSimpleOut(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    md5 = serializers.CharField(allow_blank=True, help_text="The SHA-256 of the version's manifest.")
    counters = serializers.DictField()
    converted_formats = ConvertedFormatOut(many=True)
    task_filter_options = serializers.DictField(allow_null=True)
    annotation_filter_options = serializers.DictField(allow_null=True)
    serialization_options = serializers.DictField(allow_null=True)


class SnapshotIn(serializers.Serializer):
    title = serializers.CharField(required=False)
    task_filter_options = serializers.DictField(required=False)
    annotation_filter_options = serializers.DictField(required=False)
    serialization_options = serializers.DictField(required=False)
