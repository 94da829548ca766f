"""The estimate, checked against figures worked out by hand, the LoRA and Llama parameter formulas against
peft and transformers themselves, and the estimate endpoint's checks and roles."""

import math

import pytest

from tests.conftest import post_json
from training.encoders import encoder_path
from training.estimate import (
    DEVICES,
    DatasetCounts,
    ModelShape,
    estimate,
    llama_parameters,
    model_shape,
    scaling_note,
)
from training.recipes import RECIPES
from training.recipes.pretraining_from_scratch import model_config
from training.services.base_models import base_model_create, base_model_defaults_register

ONE_BILLION = ModelShape(parameters=10**9, trainable_parameters=10**9, hidden_size=2048, layers=16, heads=16)


def test_a_billion_parameters_on_two_billion_tokens_by_hand():
    result = estimate(
        shape=ONE_BILLION,
        counts=DatasetCounts(tokens=10**9),
        epochs=2,
        max_steps=None,
        batch_size=4,
        max_length=1024,
        device="H100",
        devices=4,
        pretraining=True,
    )
    assert result.training_tokens == 2 * 10**9
    assert result.flops == 1.2e19  # 6 · 1e9 · 2e9
    # 1.2e19 FLOPs at 40 % of 989 TFLOPS: 30,333.7 s of one H100, 8.43 GPU-hours, 2.11 hours on four.
    assert result.gpu_hours == pytest.approx(1.2e19 / (989e12 * 0.4) / 3600)
    assert result.gpu_hours == pytest.approx(8.4260, abs=1e-4)
    assert result.wall_hours == pytest.approx(8.4260 / 4, abs=1e-4)
    memory = result.memory
    assert (memory.weights_bytes, memory.gradients_bytes, memory.optimizer_bytes) == (2e9, 2e9, 12e9)
    # s·b·h·(34 + 5·a·s/h) per layer: 1024 · 4 · 2048 · (34 + 5 · 16 · 1024 / 2048) = 620,756,992; 16 layers.
    assert memory.activations_bytes == 620_756_992 * 16
    assert memory.total_bytes == 16 * 10**9 + 620_756_992 * 16
    assert memory.fits is True  # 25.9 GB of an H100's 80 GiB
    assert result.tokens_per_parameter == 2.0
    assert "under-trained" in result.scaling_note
    assert "20,000,000,000" in result.scaling_note  # 20 tokens a parameter


def test_fsdp_splits_the_training_states_over_the_devices_and_gathers_two_layers():
    base = dict(
        shape=ONE_BILLION,
        counts=DatasetCounts(tokens=10**9),
        epochs=1,
        max_steps=None,
        batch_size=4,
        max_length=1024,
        device="L4",
        devices=8,
    )
    whole = estimate(**base).memory
    sharded = estimate(**base, sharded=True).memory
    assert (whole.sharded_over, sharded.sharded_over) == (1, 8)
    # 2e9 bytes of bf16 weights: an eighth each, and two of the sixteen layers whole (2 · 2e9 / 16).
    assert sharded.weights_bytes == 2 * 10**9 // 8 + 2 * 2 * 10**9 // 16
    assert (sharded.gradients_bytes, sharded.optimizer_bytes) == (2 * 10**9 // 8, 12 * 10**9 // 8)
    assert sharded.activations_bytes == whole.activations_bytes  # each device its own batch
    assert sharded.total_bytes == (
        sharded.weights_bytes + sharded.gradients_bytes + sharded.optimizer_bytes + sharded.activations_bytes
    )
    # 25.9 GB does not fit an L4's 24 GiB whole; sharded over eight, 12.4 GB does.
    assert (whole.fits, sharded.fits) == (False, True)
    # Compute is the same: FSDP changes where the states live, not the FLOPs.
    assert estimate(**base, sharded=True).gpu_hours == estimate(**base).gpu_hours


def test_devices_and_utilisation_scale_the_time_and_the_cpu_has_no_memory_limit():
    base = dict(
        shape=ONE_BILLION,
        counts=DatasetCounts(tokens=10**9),
        epochs=1,
        max_steps=None,
        batch_size=1,
        max_length=512,
    )
    a100 = estimate(**base, device="A100", utilisation=0.5)
    assert a100.gpu_hours == pytest.approx(6e18 / (312e12 * 0.5) / 3600)
    cpu = estimate(**base, device="CPU")
    assert cpu.gpu_hours == pytest.approx(6e18 / (DEVICES["CPU"].peak_flops * 0.4) / 3600)
    assert cpu.memory.fits is None
    assert estimate(**base, device="L4").memory.fits is True  # 16.9 GB of an L4's 24 GiB
    # Longer sequences in bigger batches: 2048 · 8 · 2048 · (34 + 80) bytes a layer, 16 layers, 61 GB more.
    long = estimate(**{**base, "batch_size": 8, "max_length": 2048}, device="L4")
    assert long.memory.activations_bytes == 2048 * 8 * 2048 * 114 * 16
    assert long.memory.fits is False


def test_rows_are_cut_at_max_length_and_max_steps_caps_the_tokens():
    assert DatasetCounts(rows=1000, mean_tokens_per_row=300).tokens_per_epoch(max_length=256) == 256_000
    assert DatasetCounts(rows=1000, mean_tokens_per_row=100).tokens_per_epoch(max_length=256) == 100_000
    assert DatasetCounts(tokens=5_000).tokens_per_epoch(max_length=256) == 5_000
    capped = estimate(
        shape=ONE_BILLION,
        counts=DatasetCounts(tokens=10**9),
        epochs=3,
        max_steps=10,
        batch_size=8,
        gradient_accumulation_steps=2,
        max_length=512,
        device="H100",
        devices=2,
    )
    assert capped.training_tokens == 10 * 8 * 2 * 2 * 512


def test_the_scaling_note_is_silent_near_twenty_tokens_per_parameter():
    assert scaling_note(ratio=20, parameters=10**6, pretraining=True) is None
    assert scaling_note(ratio=35, parameters=10**6, pretraining=True) is None
    assert "more than compute-optimal" in scaling_note(ratio=200, parameters=10**6, pretraining=True)
    assert "fine-tune" in scaling_note(ratio=0.01, parameters=10**6, pretraining=False)


def test_the_llama_formula_counts_what_transformers_builds():
    from transformers import LlamaConfig, LlamaForCausalLM

    for tie in (True, False):
        config = {
            "model_type": "llama",
            "vocab_size": 300,
            "hidden_size": 32,
            "intermediate_size": 88,
            "num_hidden_layers": 3,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "tie_word_embeddings": tie,
        }
        built = LlamaForCausalLM(LlamaConfig(**{k: v for k, v in config.items() if k != "model_type"}))
        assert llama_parameters(config) == built.num_parameters()


def test_the_from_scratch_config_is_the_one_the_defaults_describe():
    params = RECIPES["pretraining_from_scratch"].check_params({"hidden_size": 96, "num_heads": 4})
    assert model_config(params)["intermediate_size"] == 256  # 96 · 8 / 3 = 256, a multiple of 8


def test_the_lora_formula_counts_what_peft_adds():
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    config = {
        "model_type": "llama",
        "vocab_size": 300,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
    }
    model = LlamaForCausalLM(LlamaConfig(**{k: v for k, v in config.items() if k != "model_type"}))
    adapted = get_peft_model(
        model, LoraConfig(r=4, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM")
    )
    trainable = sum(p.numel() for p in adapted.parameters() if p.requires_grad)
    assert model_shape(config, parameters=123, lora_r=4).trainable_parameters == trainable


# ---- the endpoint --------------------------------------------------------------------------------------------


@pytest.fixture
def minilm(cast, settings):
    return base_model_defaults_register(organization=cast.org)


def body(**fields):
    return {
        "recipe": "text_classification",
        "params": {},
        "resources": {"gpus": 1, "gpu_type": "H100"},
        **fields,
    }


@pytest.mark.django_db
def test_a_manager_gets_the_estimate_of_a_minilm_classifier(api, minilm):
    response = post_json(
        api("manager"), "/api/training-jobs/estimate", body(base_model=minilm.pk, tokens=1_000_000)
    )
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["parameters"] == minilm.parameters
    assert result["training_tokens"] == 3_000_000  # three epochs by default
    assert result["flops"] == pytest.approx(6 * minilm.parameters * 3_000_000)
    assert result["params"]["learning_rate"] == 5e-5
    assert result["memory"]["fits"] is True
    assert "fine-tune" in result["scaling_note"]


@pytest.mark.django_db
def test_a_from_scratch_estimate_counts_the_model_it_would_build(api, cast):
    params = {
        "hidden_size": 64,
        "num_layers": 2,
        "num_heads": 4,
        "vocab_size": 1000,
        "max_length": 128,
        "epochs": 1,
    }
    response = post_json(
        api("manager"),
        "/api/training-jobs/estimate",
        {
            "recipe": "pretraining_from_scratch",
            "params": params,
            "tokens": 10_000_000,
            "resources": {"gpu_type": "CPU"},
        },
    )
    assert response.status_code == 200, response.content
    checked = RECIPES["pretraining_from_scratch"].check_params(params)
    assert response.json()["parameters"] == llama_parameters(model_config(checked))
    assert response.json()["device"] == "CPU"
    assert not math.isnan(response.json()["gpu_hours"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields, field",
    [
        ({"recipe": "rlhf"}, "recipe"),
        ({"params": {"learning_rate": 5}}, "params.learning_rate"),
        ({"params": {"batch_size": "8"}}, "params.batch_size"),
        ({"params": {"optimizer": "sgd"}}, "params.optimizer"),
        ({"recipe": "sft", "params": {}}, "base_model"),  # MiniLM is an encoder
        ({"resources": {"gpu_type": "TPU"}}, "resources.gpu_type"),
        ({"resources": {"gpus": 0}}, "resources.gpus"),
        ({"resources": {"gpus": 4, "strategy": "zero"}}, "resources.strategy"),
        ({"resources": {"gpus": 1, "strategy": "fsdp"}}, "resources.strategy"),
        ({"tokens": None}, "tokens"),
        ({"tokens": None, "dataset": 7}, "dataset"),  # no such version
        ({"base_model": 999_999}, "base_model"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, minilm, fields, field):
    response = post_json(
        api("manager"), "/api/training-jobs/estimate", {**body(base_model=minilm.pk, tokens=1000), **fields}
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field


@pytest.mark.django_db
def test_from_scratch_refuses_a_base_model_and_heads_that_do_not_divide(api, minilm):
    scratch = {"recipe": "pretraining_from_scratch", "tokens": 1000}
    response = post_json(api("manager"), "/api/training-jobs/estimate", {**scratch, "base_model": minilm.pk})
    assert response.json()["error"]["field"] == "base_model"
    response = post_json(
        api("manager"),
        "/api/training-jobs/estimate",
        {**scratch, "params": {"hidden_size": 100, "num_heads": 3}},
    )
    assert response.json()["error"]["field"] == "params.num_heads"


@pytest.mark.django_db
def test_lora_is_refused_on_an_encoder(api, minilm):
    response = post_json(
        api("manager"),
        "/api/training-jobs/estimate",
        body(recipe="continued_pretraining", base_model=minilm.pk, tokens=1000, params={"lora": {"r": 8}}),
    )
    assert (response.status_code, response.json()["error"]["field"]) == (400, "params.lora")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["reviewer", "annotator"])
def test_below_manager_may_not_estimate(api, minilm, role):
    response = post_json(api(role), "/api/training-jobs/estimate", body(base_model=minilm.pk, tokens=1000))
    assert response.status_code == 403


@pytest.mark.django_db
def test_another_organizations_base_model_is_not_found(api, cast, settings):
    theirs = base_model_create(
        organization=cast.other_org, user=None, name="theirs", path=str(encoder_path())
    )
    response = post_json(
        api("manager"), "/api/training-jobs/estimate", body(base_model=theirs.pk, tokens=1000)
    )
    assert (response.status_code, response.json()["error"]["field"]) == (400, "base_model")
    assert response.json()["error"]["code"] == "not_found"
