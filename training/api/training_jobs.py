"""Training jobs. ``POST /api/training-jobs/estimate``: what a launch would cost, with the body a launch
takes; with ``dataset`` (a dataset version) and no tokens, the version's train split gives the tokens.

Managers and above estimate (they are the ones who launch). The base model is looked up in the caller's
organization: another organization's id is a 400 naming ``base_model``, as no such model exists for them.
"""

from django.urls import re_path
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.schemas import errors
from tessera.api.base import json_object
from tessera.models import Role
from tessera.permissions import require_role
from tessera.request_types import AuthenticatedRequest
from training.api.recipe_schemas import estimate_bodies
from training.services.estimates import training_estimate

EstimateIn = PolymorphicProxySerializer(
    component_name="TrainingEstimateIn",
    serializers=estimate_bodies,  # type: ignore[arg-type]  # a cached function, called the same way
    resource_type_field_name="recipe",
)


class EstimateMemoryOut(serializers.Serializer):
    weights_bytes = serializers.IntegerField()
    gradients_bytes = serializers.IntegerField()
    optimizer_bytes = serializers.IntegerField(help_text="AdamW: fp32 master weights and two moments.")
    activations_bytes = serializers.IntegerField()
    total_bytes = serializers.IntegerField(
        help_text="Per device (data parallel: each holds the whole model)."
    )
    device_bytes = serializers.IntegerField(allow_null=True)
    fits = serializers.BooleanField(allow_null=True)


class EstimateDatasetTokensOut(serializers.Serializer):
    dataset = serializers.IntegerField()
    rows = serializers.IntegerField(help_text="Rows of the train split.")
    sampled_rows = serializers.IntegerField(help_text="Rows tokenized; their mean is extrapolated to all.")
    exact = serializers.BooleanField(help_text="Every row was tokenized.")
    mean_tokens_per_row = serializers.FloatField(help_text="Cut at max_length where the run cuts rows.")
    tokens_per_epoch = serializers.IntegerField()
    counted_by = serializers.ChoiceField(
        choices=["tokenizer", "bytes_per_token"],
        help_text="The base model's tokenizer, or UTF-8 bytes / 4 from scratch (no tokenizer before the run).",
    )


class EstimateOut(serializers.Serializer):
    recipe = serializers.CharField()
    base_model = serializers.IntegerField(allow_null=True)
    params = serializers.DictField(help_text="The parameters, defaults filled in.")
    parameters = serializers.IntegerField()
    trainable_parameters = serializers.IntegerField()
    tokens_per_epoch = serializers.IntegerField()
    epochs = serializers.FloatField()
    training_tokens = serializers.IntegerField()
    flops = serializers.FloatField(help_text="≈ 6 · parameters · training tokens.")
    device = serializers.CharField()
    devices = serializers.IntegerField()
    utilisation = serializers.FloatField()
    peak_flops_per_device = serializers.FloatField()
    gpu_hours = serializers.FloatField(help_text="Device-hours, all devices together.")
    wall_hours = serializers.FloatField()
    memory = EstimateMemoryOut()
    tokens_per_parameter = serializers.FloatField()
    scaling_note = serializers.CharField(allow_null=True, help_text="Set when far from Chinchilla's ≈20.")
    dataset_tokens = EstimateDatasetTokensOut(
        allow_null=True,
        help_text="How a dataset version's tokens were counted; null when the body gave them.",
    )


class TrainingEstimateView(APIView):
    @extend_schema(
        request=EstimateIn,
        responses={200: EstimateOut, **errors(400, 403)},
        summary="What a training run would cost: parameters, tokens, FLOPs, GPU-hours, memory (managers+)",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        membership = require_role(request, Role.MANAGER, action="estimate training runs")
        result = training_estimate(membership=membership, body=json_object(request))
        launch = result.launch
        return Response(
            {
                "recipe": launch.recipe.name,
                "base_model": None if launch.base_model is None else launch.base_model.pk,
                "params": launch.recipe_params_dict(),
                **result.estimate.as_dict(),
                "dataset_tokens": None if result.dataset_tokens is None else result.dataset_tokens.as_dict(),
            }
        )


urlpatterns = [
    re_path(r"^training-jobs/estimate/?$", TrainingEstimateView.as_view(), name="training-estimate"),
]
