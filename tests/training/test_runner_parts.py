"""The runner's parts that need no training: its environment (offline, the repository importable), the
spec's paths, and which checkpoint a resumed run starts from."""

import json
from pathlib import Path

from training.runner import runner_command, runner_env, trainer_setup
from training.runner.reporting import EventLog
from training.runner.spec import RunSpec
from training.runner.trainer_setup import last_complete_checkpoint


def test_the_subprocess_is_offline_and_finds_the_repository():
    env = runner_env({"PATH": "/usr/bin", "PYTHONPATH": "/elsewhere"})
    assert (env["HF_HUB_OFFLINE"], env["TRANSFORMERS_OFFLINE"], env["HF_DATASETS_OFFLINE"]) == ("1", "1", "1")
    root = str(Path(__file__).resolve().parents[2])
    assert env["PYTHONPATH"].split(":") == [root, "/elsewhere"]
    assert runner_command("spec.json")[1:] == ["-m", "training.runner", "--spec", "spec.json"]


def test_relative_paths_in_a_spec_are_read_from_its_folder(tmp_path):
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(
        json.dumps(
            {
                "recipe": "sft",
                "output_dir": "out",
                "data": {"train": "train.jsonl", "test": "/data/test.jsonl"},
            }
        )
    )
    spec = RunSpec.load(spec_file)
    assert (spec.output_dir, spec.train, spec.test, spec.validation) == (
        tmp_path / "out",
        tmp_path / "train.jsonl",
        Path("/data/test.jsonl"),
        None,
    )
    assert RunSpec.from_dict(spec.as_dict()) == spec


def test_a_resumed_run_starts_from_the_newest_complete_checkpoint(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    for step, complete in ((2, True), (4, True), (6, False)):
        folder = checkpoints / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    (checkpoints / "checkpoint-notes").mkdir()
    events = EventLog(tmp_path / "events.jsonl")
    assert last_complete_checkpoint(checkpoints, events) == checkpoints / "checkpoint-4"
    # The one cut short by a kill mid-save is removed, so that the Trainer's own retention never counts it.
    assert not (checkpoints / "checkpoint-6").exists()
    discarded = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [(row["event"], row["path"]) for row in discarded] == [
        ("checkpoint_discarded", str(checkpoints / "checkpoint-6"))
    ]
    assert last_complete_checkpoint(tmp_path / "none", events) is None


def test_a_sharded_run_asks_the_trainer_for_fsdp2_on_gpus_only(tmp_path, monkeypatch):
    """The keywords as transformers itself reads them into accelerate's FSDP plugin (no GPU here: the
    plugin's arguments are built when the arguments are, the plugin when the Trainer starts)."""
    from transformers import TrainingArguments

    from training.recipes import RECIPES

    params = RECIPES["sft"].check_params({})
    spec = RunSpec(recipe="sft", output_dir=tmp_path, train=tmp_path / "train.jsonl", fsdp=True)
    assert "fsdp" not in trainer_setup.common_arguments(spec, params)  # the CPU: data-parallel
    monkeypatch.setattr(trainer_setup, "on_gpu", lambda: True)
    monkeypatch.setattr(trainer_setup.torch.cuda, "is_bf16_supported", lambda: False)
    keywords = trainer_setup.common_arguments(spec, params)
    plugin = TrainingArguments(**{**keywords, "use_cpu": True}).fsdp_plugin_args
    assert plugin["fsdp_version"] == 2
    assert plugin["reshard_after_forward"] is True
    assert plugin["auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert plugin["state_dict_type"] == "FULL_STATE_DICT"
    unsharded = RunSpec(recipe="sft", output_dir=tmp_path, train=tmp_path / "train.jsonl")
    assert "fsdp" not in trainer_setup.common_arguments(unsharded, params)
    assert RunSpec.from_dict(spec.as_dict()).fsdp is True
