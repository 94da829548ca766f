"""The parts of a training job's worker with no database: the launch command for one and several GPUs
(run for real: torchrun's argument parser reads the command), the JSON-lines reader that follows the
runner's files, and the failure reasons read from a runner's error."""

import json
import signal
import subprocess
import sys

from training.runner import runner_env
from training.runner.launch import launch_command, launch_env
from training.services.training_runs import failure_reason, read_lines


def test_one_gpu_runs_the_runner_itself(tmp_path):
    spec = tmp_path / "spec.json"
    assert launch_command(spec, gpus=1) == [sys.executable, "-m", "training.runner", "--spec", str(spec)]


def test_several_gpus_run_torchrun_with_a_process_each(tmp_path):
    spec = tmp_path / "spec.json"
    command = launch_command(spec, gpus=4)
    assert command == [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4",
        "-m", "training.runner", "--spec", str(spec),
    ]  # fmt: skip
    # torchrun itself accepts the command: its parser, given the same options, names the module and its
    # arguments (a real launch needs the GPUs).
    probe = (
        "import sys, json; from torch.distributed.run import get_args_parser; "
        "a = get_args_parser().parse_args(sys.argv[1:]); "
        "print(json.dumps([a.nproc_per_node, a.standalone, a.module, a.training_script, a.training_script_args]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *command[3:]],
        env=runner_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == ["4", True, True, "training.runner", ["--spec", str(spec)]]


def test_a_device_count_below_one_is_refused(tmp_path):
    try:
        launch_command(tmp_path / "spec.json", gpus=0)
    except ValueError as error:
        assert "at least one device" in str(error)
    else:
        raise AssertionError("gpus=0 was accepted")


def test_the_reader_takes_complete_lines_only_and_says_where_it_stopped(tmp_path):
    file = tmp_path / "metrics.jsonl"
    assert read_lines(file, 0) == ([], 0)
    file.write_bytes(b'{"step": 1}\n{"step": 2}\nnot json\n["a list"]\n{"step": 3, "lo')
    rows, offset = read_lines(file, 0)
    assert rows == [{"step": 1}, {"step": 2}]
    assert offset == len(b'{"step": 1}\n{"step": 2}\nnot json\n["a list"]\n')
    with file.open("ab") as stream:
        stream.write(b'ss": 0.5}\n')
    assert read_lines(file, offset) == ([{"step": 3, "loss": 0.5}], file.stat().st_size)


def test_failure_reasons_name_a_full_disk_out_of_memory_and_a_signal():
    disk = failure_reason(1, "OSError: [Errno 28] No space left on device: 'checkpoints/checkpoint-4'")
    assert disk["code"] == "disk_full" and "disk filled up" in disk["message"]
    cuda = failure_reason(1, "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    assert cuda["code"] == "out_of_memory" and "batch_size" in cuda["message"]
    killed = failure_reason(-signal.SIGKILL, "")
    assert killed == {
        "code": "killed",
        "message": "The runner was killed by SIGKILL (often the kernel's out-of-memory killer).",
    }
    assert failure_reason(-signal.SIGSEGV, "")["message"] == "The runner was killed by SIGSEGV."
    other = failure_reason(1, "ValueError: the training split has fewer than two labels")
    assert other == {
        "code": "runner_failed",
        "message": "ValueError: the training split has fewer than two labels",
    }
    assert failure_reason(3, "")["message"] == "The runner exited with code 3."


def test_the_runner_gets_no_setting_or_secret_of_the_worker():
    worker = {
        "PATH": "/usr/bin",
        "HOME": "/home/tessera",
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "0,1",
        "DATABASE_URL": "postgres://tessera:pw@db/tessera",
        "TESSERA_SECRET_KEY": "k",
        "CELERY_BROKER_URL": "redis://redis:6379/0",
        "DJANGO_SETTINGS_MODULE": "tessera.settings",
        "AWS_SECRET_ACCESS_KEY": "s",
        "HF_TOKEN": "t",
    }
    env = launch_env(worker)
    assert {"PATH", "HOME", "OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "HF_HUB_OFFLINE", "PYTHONPATH"} <= set(
        env
    )
    assert env["HF_HUB_OFFLINE"] == "1" and env["TOKENIZERS_PARALLELISM"] == "false"
    assert not {"DATABASE_URL", "TESSERA_SECRET_KEY", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"} & set(
        env
    )
    assert not {"AWS_SECRET_ACCESS_KEY", "HF_TOKEN"} & set(env)
