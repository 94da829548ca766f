"""The worker side of a training job (``training.tasks.train_run_job`` on the ``gpu`` queue).

The job is owned through its row's lease, not through the broker: the task's message is acknowledged
when the worker takes it (a run lasts hours, longer than a broker's visibility timeout), a second
delivery finds the lease live and exits, and a worker that dies stops renewing the lease, so the reaper
(training/services/training_jobs.py) queues the job again and the next worker resumes it.

A run: claim the lease; prepare ``DATA_DIR/training/jobs/<id>/`` (the version's split files linked or
copied into ``data/``, its manifest beside them for the lineage, ``spec.json``); start the runner as a
subprocess in its own process group (stdout and stderr appended to ``log.txt``), which the kernel kills
if the worker dies (PR_SET_PDEATHSIG), so a resumed run never writes beside an orphan. Every heartbeat,
in one transaction on the locked row: the new complete lines of ``metrics.jsonl`` and ``events.jsonl``,
from the byte offsets saved in the row, become TrainingMetric and TrainingEvent rows, the progress and
latest metrics move, the offsets and the lease move with them. A cancel asked for is read there too:
SIGTERM to the process group, SIGKILL after the grace. Exit 0 registers the model version and completes
the job in one transaction; another exit fails it with the runner's reason.
"""

import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from annotation.models import JobState
from annotation.services.leases import Lease, LeaseLost
from exports.datasets import storage
from tessera.errors import ApplicationError
from training.estimate import DEVICES
from training.models import ModelVersion, TrainingEvent, TrainingJob, TrainingMetric
from training.runner.launch import launch_command, launch_env
from training.services.evaluation_projects import GENERATIVE_RECIPES, evaluation_project_create
from training.services.model_versions import model_version_register, registry_root
from training.services.training_jobs import job_event

logger = logging.getLogger(__name__)

# A heartbeat reads at most this much of each file; the rest waits for the next one.
READ_LIMIT = 8 * 1024 * 1024
# Keys of a metrics line that are the row's own columns, not values.
METRIC_COLUMNS = ("time", "step")
PR_SET_PDEATHSIG = 1


class Cancelled(Exception):
    pass


class TrainingLease(Lease):
    """The jobs' lease with the training settings; no time limit of its own (a run's length is its steps;
    the task's Celery limit, TESSERA_TRAINING_TIME_LIMIT_SECONDS, is the backstop)."""

    @classmethod
    def take(cls, job_id: int) -> "TrainingLease | None":
        lease = cls.claim(
            TrainingJob,
            job_id,
            seconds=settings.TESSERA_TRAINING_LEASE_SECONDS,
            max_attempts=settings.TESSERA_TRAINING_MAX_ATTEMPTS,
        )
        if not isinstance(lease, TrainingLease):
            return None
        attempt = TrainingJob.objects.values_list("attempts", flat=True).get(pk=job_id)
        job_event(job_id, "claimed", owner=lease.owner, attempt=attempt)
        return lease

    def check_time(self) -> None:
        return None

    def mine(self) -> QuerySet[TrainingJob]:
        return self._mine()


def run_folder(job: TrainingJob) -> Path:
    return Path(settings.DATA_DIR) / job.run_dir


# ---- the JSON-lines files ------------------------------------------------------------------------------------


def read_lines(file: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The complete lines after ``offset`` (a line the runner is still writing waits), as objects, and the
    offset after the last one read. A line that is not a JSON object is skipped (and logged)."""
    if not file.is_file():
        return [], offset
    with file.open("rb") as stream:
        stream.seek(offset)
        data = stream.read(READ_LIMIT)
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    rows = []
    for line in data[: end + 1].splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            logger.warning("Skipped a line of %s that is not JSON: %r", file, line[:200])
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows, offset + end + 1


def _resumed_step(event_rows: list[dict[str, Any]]) -> int | None:
    """The step of the checkpoint a ``resumed`` event names (``…/checkpoint-<step>``), if one is among the rows."""
    for line in event_rows:
        if line.get("event") == "resumed":
            name = Path(str(line.get("checkpoint") or "")).name
            if name.startswith("checkpoint-") and name[len("checkpoint-") :].isdigit():
                return int(name[len("checkpoint-") :])
    return None


def _time(row: dict[str, Any]) -> datetime:
    value = row.get("time")
    if isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError, OSError, ValueError):
            return datetime.fromtimestamp(value, tz=UTC)
    return timezone.now()


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class Tick:
    cancel_requested: bool
    metrics: int
    events: int


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # The runner is killed when the worker that started it dies, so that a job resumed elsewhere never
    # has two runners writing one folder. Linux only; elsewhere the lease alone decides.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class JobRun:
    """One claim of a job by this worker."""

    def __init__(self, lease: TrainingLease):
        self.lease = lease
        self.job = TrainingJob.objects.select_related("dataset", "base_model").get(pk=lease.job_id)
        self.folder = run_folder(self.job)
        self.process: subprocess.Popen | None = None

    # -- the folder ------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """The run folder, data and spec. A first attempt starts from an empty folder; a later one keeps
        it (the checkpoints are what it resumes from) and drops a line cut short by the kill."""
        job = self.job
        first = job.attempts <= 1 and job.step == 0 and job.metrics_offset == 0 and job.events_offset == 0
        if first and self.folder.exists():
            shutil.rmtree(self.folder)
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        if not (data / "train.jsonl").is_file():
            self._link_dataset(data)
        if job.base_model_path and not (Path(job.base_model_path) / "config.json").is_file():
            raise RunRefused(
                "base_model_gone",
                f"The base model's folder {job.base_model_path} is gone; register it again and relaunch.",
            )
        spec = {
            "recipe": job.recipe,
            "output_dir": ".",
            "data": {
                split: f"data/{split}.jsonl"
                for split in ("train", "validation", "test")
                if (data / f"{split}.jsonl").is_file()
            },
            "base_model": job.base_model_path or None,
            "params": job.params,
            "peak_flops": _peak_flops(job),
            "fsdp": job.resources.get("strategy") == "fsdp",
        }
        (self.folder / "spec.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
        if not first:
            self._catch_up_and_trim()

    def _link_dataset(self, data: Path) -> None:
        version = self.job.dataset
        if version is None:
            raise RunRefused("dataset_gone", "The dataset version was deleted before the run started.")
        from training.recipes import recipe_get

        fmt = recipe_get(self.job.recipe).dataset_format
        for entry in version.files:
            if entry["format"] == fmt and entry.get("split"):
                _place(storage.resolve(entry["path"]), data / f"{entry['split']}.jsonl")
            elif entry["format"] == "manifest":
                _place(storage.resolve(entry["path"]), data / "manifest.jsonl")

    def _catch_up_and_trim(self) -> None:
        """Store what the dead run wrote after the last saved offsets, then cut each file at its offset:
        a line the kill cut short would otherwise run into the resumed run's first line."""
        self.tick()
        job = TrainingJob.objects.only("metrics_offset", "events_offset").get(pk=self.job.pk)
        for name, offset in (("metrics.jsonl", job.metrics_offset), ("events.jsonl", job.events_offset)):
            file = self.folder / name
            if file.is_file() and file.stat().st_size > offset:
                os.truncate(file, offset)

    # -- the subprocess ---------------------------------------------------------------------------------

    def start(self) -> subprocess.Popen:
        gpus = int(self.job.resources.get("gpus") or 1)
        env = launch_env()
        with (self.folder / "log.txt").open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - argv built by launch_command, no shell
                launch_command(self.folder / "spec.json", gpus=gpus),
                cwd=self.folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a cancel reaches torchrun's children too
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - the worker runs tasks in one thread
            )
        command = launch_command(self.folder / "spec.json", gpus=gpus)
        job_event(self.job.pk, "runner_started", pid=self.process.pid, command=command[1:])
        return self.process

    def stop(self, *, grace: float | None = None) -> int | None:
        """SIGTERM to the runner's process group, SIGKILL after the grace; its exit code."""
        process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        grace = settings.TESSERA_TRAINING_CANCEL_GRACE_SECONDS if grace is None else grace
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            return process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            return process.wait()

    def supervise(self) -> int:
        """Heartbeats until the runner exits; its exit code. Cancelled when a cancel was asked."""
        assert self.process is not None
        heartbeat = settings.TESSERA_TRAINING_HEARTBEAT_SECONDS
        while True:
            try:
                code: int | None = self.process.wait(timeout=heartbeat)
            except subprocess.TimeoutExpired:
                code = None
            try:
                tick = self.tick()
            except DatabaseError as error:
                # A database blip must not end a run of hours: the next heartbeat tries again (and, if
                # the lease ran out meanwhile and the job went elsewhere, finds it lost).
                logger.warning("Training job %s: heartbeat failed: %s", self.job.pk, error)
                if code is not None:
                    raise
                continue
            if code is not None:
                return code
            if tick.cancel_requested:
                code = self.stop()
                job_event(self.job.pk, "runner_stopped", exit_code=code, reason="cancel")
                with contextlib.suppress(DatabaseError):
                    self.tick()  # what the runner wrote before it stopped
                raise Cancelled

    # -- a heartbeat ------------------------------------------------------------------------------------

    def tick(self) -> Tick:
        """One transaction on the locked row: new metric and event lines stored, progress and offsets
        moved, the lease renewed. LeaseLost when the row is no longer this worker's."""
        now = timezone.now()
        with transaction.atomic():
            row = (
                self.lease.mine()
                .select_for_update()
                .values(
                    "cancel_requested",
                    "metrics_offset",
                    "events_offset",
                    "latest_metrics",
                    "step",
                    "max_steps",
                    "epoch",
                )  # fmt: skip
                .first()
            )
            if row is None:
                raise LeaseLost(f"training job {self.job.pk} is no longer held by {self.lease.owner}")
            metric_rows, metrics_offset = read_lines(self.folder / "metrics.jsonl", row["metrics_offset"])
            event_rows, events_offset = read_lines(self.folder / "events.jsonl", row["events_offset"])
            update: dict[str, Any] = {
                "metrics_offset": metrics_offset,
                "events_offset": events_offset,
                "lease_expires_at": now + timedelta(seconds=self.lease.seconds),
                "heartbeat_at": now,
            }
            latest = dict(row["latest_metrics"] or {})
            step, epoch, max_steps = row["step"], row["epoch"], row["max_steps"]
            resumed_at = _resumed_step(event_rows)
            if resumed_at is not None:
                # The run went on from its checkpoint: the lines logged past it before the kill are
                # trained again, so they leave the series (which would otherwise show those steps twice).
                TrainingMetric.objects.filter(job_id=self.job.pk, step__gt=resumed_at).delete()
                step = resumed_at
            metrics = []
            for line in metric_rows:
                values = {k: v for k, v in line.items() if k not in METRIC_COLUMNS}
                line_step = _int(line.get("step")) or 0
                metrics.append(
                    TrainingMetric(job_id=self.job.pk, step=line_step, time=_time(line), values=values)
                )
                step = max(step, line_step)
                if isinstance(line.get("epoch"), int | float):
                    epoch = float(line["epoch"])
                latest.update(
                    {k: v for k, v in values.items() if isinstance(v, int | float) and k != "epoch"}
                )
            events = []
            for line in event_rows:
                kind = str(line.get("event") or "unknown")[:64]
                details = {k: v for k, v in line.items() if k not in ("time", "event")}
                events.append(TrainingEvent(job_id=self.job.pk, time=_time(line), source="runner", kind=kind,
                                            details=details))  # fmt: skip
                if kind == "train_begin":
                    max_steps = _int(details.get("max_steps")) or max_steps
                step = max(step, _int(details.get("step")) or 0)
            TrainingMetric.objects.bulk_create(metrics)
            TrainingEvent.objects.bulk_create(events)
            update.update(step=step, epoch=epoch, max_steps=max_steps, latest_metrics=latest)
            self.lease.mine().update(**update)
        return Tick(cancel_requested=row["cancel_requested"], metrics=len(metrics), events=len(events))

    # -- the end ------------------------------------------------------------------------------------------

    def finish(self, code: int) -> None:
        if code == 0:
            self._succeed()
            return
        error = failure_reason(code, self._runner_failure())
        if self.lease.fail(error):
            job_event(self.job.pk, "failed", exit_code=code, **error)

    def _runner_failure(self) -> str:
        event = (
            TrainingEvent.objects.filter(job_id=self.job.pk, source="runner", kind="failed")
            .order_by("-id")
            .values_list("details", flat=True)
            .first()
        )
        if event and event.get("error"):
            return str(event["error"])
        return _log_tail(self.folder / "log.txt")

    def _succeed(self) -> None:
        job = TrainingJob.objects.select_related("dataset", "base_model").get(pk=self.job.pk)
        registered: list[Path] = []
        try:
            with transaction.atomic():
                self.lease.hold()
                version = model_version_register(job)
                registered.append(registry_root() / version.name / version.version)
                self.lease.complete()
                job_event(
                    job.pk, "completed", model_version=version.pk, name=version.name, version=version.version
                )
        except BaseException as error:
            # Rolled back: the artifact's folder goes with the row that would have named it.
            for folder in registered:
                shutil.rmtree(folder, ignore_errors=True)
            if not isinstance(error, OSError | ValueError | KeyError):
                raise

            # The run finished but left no usable model (no model/ folder, a bad eval.json, a full disk
            # while copying): the job fails with the reason; there is nothing to resume.
            message = f"The trained model could not be registered: {type(error).__name__}: {error}"
            if self.lease.fail({"code": "register_failed", "message": message}):
                job_event(job.pk, "failed", code="register_failed", message=message)
            return
        if not settings.TESSERA_TRAINING_KEEP_CHECKPOINTS:
            shutil.rmtree(self.folder / "checkpoints", ignore_errors=True)
        self._evaluation_project(version, job)

    def _evaluation_project(self, version: ModelVersion, job: TrainingJob) -> None:
        """An SFT or DPO model's answers to the test prompts go to reviewers as an evaluation project, made
        for whoever launched the job. After the job completed: a project that cannot be made (no test
        split, so no answers) is an event, not a failed run."""
        if version.recipe not in GENERATIVE_RECIPES:
            return
        if job.created_by is None:
            job_event(job.pk, "evaluation_project_skipped", code="no_user", message="The job's user is gone.")
            return
        try:
            project = evaluation_project_create(model_version=version, user=job.created_by)
        except ApplicationError as error:
            job_event(job.pk, "evaluation_project_skipped", code=error.code, message=str(error))
            return
        job_event(job.pk, "evaluation_project", project=project.pk, title=project.title)


class RunRefused(Exception):
    """The run cannot start (its data or base model is gone): the job fails before any training."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _place(source: Path, target: Path) -> None:
    """A hard link when the two folders share a file system (no copy of a large split), else a copy."""
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _peak_flops(job: TrainingJob) -> float | None:
    """The device's peak for MFU, on a GPU only (the CPU's stated rate would make a meaningless MFU)."""
    import torch

    if not torch.cuda.is_available():
        return None
    device = DEVICES.get(str(job.resources.get("gpu_type") or ""))
    return None if device is None else device.peak_flops


def _log_tail(file: Path, size: int = 2000) -> str:
    if not file.is_file():
        return ""
    with file.open("rb") as stream:
        stream.seek(max(0, file.stat().st_size - size))
        return stream.read().decode("utf-8", errors="replace").strip()


DISK_FULL_MARKS = ("No space left on device", "[Errno 28]", "ENOSPC")
OUT_OF_MEMORY_MARKS = ("out of memory", "OutOfMemoryError", "MemoryError", "CUBLAS_STATUS_ALLOC_FAILED")


def failure_reason(code: int, runner_error: str) -> dict[str, str]:
    """The job's error from the runner's exit code and its ``failed`` event (or its log's tail)."""
    detail = runner_error.strip()[-1500:]
    if any(mark in runner_error for mark in DISK_FULL_MARKS):
        return {"code": "disk_full", "message": f"The disk filled up during the run: {detail}"}
    if any(mark.lower() in runner_error.lower() for mark in OUT_OF_MEMORY_MARKS):
        return {
            "code": "out_of_memory",
            "message": "The run ran out of memory; lower batch_size or max_length, or ask for a larger "
            f"device. {detail}",
        }
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = " (often the kernel's out-of-memory killer)" if -code == signal.SIGKILL else ""
        return {"code": "killed", "message": f"The runner was killed by {name}{hint}."}
    return {"code": "runner_failed", "message": detail or f"The runner exited with code {code}."}


@contextlib.contextmanager
def _stopped_on_exit(run: JobRun) -> Iterator[None]:
    """Whatever ends this claim early (lease lost, an error, the task's time limit), the runner stops too:
    a runner left going would write into a folder that another worker may take over."""
    try:
        yield
    finally:
        if run.process is not None and run.process.poll() is None:
            run.stop(grace=5)


def training_job_run(job_id: int) -> None:
    """Run the job if this worker can claim it; a job someone else holds (a live lease), or that is done,
    is left alone: a redelivered message exits here."""
    lease = TrainingLease.take(job_id)
    if lease is None:
        logger.info("Training job %s is held by another worker or finished; nothing to do.", job_id)
        return
    run = JobRun(lease)
    attempt = run.job.attempts
    try:
        with _stopped_on_exit(run):
            if attempt > 1:
                job_event(job_id, "resumed", attempt=attempt, step=run.job.step)
            run.prepare()
            run.start()
            code = run.supervise()
        run.finish(code)
    except Cancelled:
        if TrainingJob.objects.filter(pk=job_id, state=JobState.IN_PROGRESS, lease_owner=lease.owner).update(
            state=JobState.CANCELLED, finished_at=timezone.now(), lease_expires_at=None
        ):
            job_event(job_id, "cancelled")
    except RunRefused as refused:
        if lease.fail({"code": refused.code, "message": refused.message}):
            job_event(job_id, "failed", code=refused.code, message=refused.message)
    except LeaseLost as lost:
        # The lease ran out (this worker stalled) and the job went to the reaper or another worker.
        logger.warning("Training job %s stopped here: %s", job_id, lost)
    except (DatabaseError, OSError):
        # A transient fault: the task retries, and the retry may claim the job at once and resume it.
        with contextlib.suppress(DatabaseError):
            lease.release()
        raise
