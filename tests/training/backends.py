"""Small real backends for the tests, registered under test names by the ``test_backends`` fixture.

They answer the first Choices control of a project over its Text object, with no model: the runner,
the API and the worker are exercised on them as on any backend (no mock of Tessera's own code).
"""

import json
from typing import Any, ClassVar

from rest_framework import serializers

from training.prelabelers.base import (
    Backend,
    BackendUnfit,
    Dropped,
    Example,
    FitResult,
    PredictionOut,
    TaskInput,
)


class NoSettings(serializers.Serializer):
    pass


class FirstChoice(Backend):
    """Always the first choice, with a score, and an uncertainty that grows with the text's length."""

    name = "test_first_choice"
    batch_size = 2
    settings_serializer = NoSettings
    calls: ClassVar[list[list[int]]] = []

    def _control(self) -> Any:
        for control in self.schema.controls.values():
            if control.tag == "choices":
                return control
        raise BackendUnfit("needs a Choices control", field="backend")

    def check(self) -> None:
        self._control()

    def model_version(self) -> str:
        return "first_choice:1"

    def answer(self, task: TaskInput, choice: str) -> PredictionOut:
        control = self._control()
        text = str(task.data.get("text", ""))
        region = {"from_name": control.name, "to_name": control.to_names[0], "type": "choices",
                  "value": {"choices": [choice]}}  # fmt: skip
        return PredictionOut(task.id, [region], score=0.8, uncertainty=len(text) / 100)

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        FirstChoice.calls.append([task.id for task in tasks])
        return [self.answer(task, self._control().labels[0]) for task in tasks]


class Failing(FirstChoice):
    name = "test_failing"

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        raise RuntimeError("the model server is down")


class Flaky(FirstChoice):
    """Fails its first ``failures`` calls, then answers."""

    name = "test_flaky"
    failures: ClassVar[int] = 1

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        if Flaky.failures > 0:
            Flaky.failures -= 1
            raise ConnectionError("a hiccup")
        return super().predict(tasks)


class OffConfig(FirstChoice):
    """Answers a choice the config does not have for even task ids, drops odd ones itself."""

    name = "test_off_config"

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        return [
            self.answer(task, "Bullish") if task.id % 2 == 0 else Dropped(task.id, "no idea")
            for task in tasks
        ]


class CancelledMidway(FirstChoice):
    """Answers, and meanwhile its job's cancel is asked (as a manager would, from the API)."""

    name = "test_cancelled_midway"

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        from training.models import PrelabelJob

        PrelabelJob.objects.filter(prelabeler_id=self.prelabeler.pk).update(cancel_requested=True)
        return super().predict(tasks)


class OutlastsItsLease(FirstChoice):
    """A slow model: each batch takes longer than the job's lease, and the reaper runs meanwhile."""

    name = "test_outlasts_its_lease"
    batch_size = 10
    seconds: ClassVar[float] = 2.5
    reaped: ClassVar[list] = []

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        import time

        from training.services.prelabel_jobs import prelabel_jobs_reap

        time.sleep(OutlastsItsLease.seconds)
        report = prelabel_jobs_reap()
        OutlastsItsLease.reaped.append(report.requeued + report.failed)
        return super().predict(tasks)


class RacedByAnotherWorker(FirstChoice):
    """While it predicts, another worker writes the same model version's prediction of its first task
    (with the counters, as any writer does): the runner's insert meets the unique index."""

    name = "test_raced"

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        from django.db.models import F

        from annotation.models import Prediction, Project, Task

        answers = super().predict(tasks)
        first = answers[0]
        assert isinstance(first, PredictionOut)
        Prediction.objects.create(
            task_id=first.task_id, project_id=self.prelabeler.project_id, prelabeler=self.prelabeler,
            model_version=self.model_version(), result=first.result,
        )  # fmt: skip
        Task.objects.filter(pk=first.task_id).update(total_predictions=F("total_predictions") + 1)
        Project.objects.filter(pk=self.prelabeler.project_id).update(
            prediction_total=F("prediction_total") + 1
        )
        return answers


class Majority(FirstChoice):
    """Learns: the most frequent choice among the examples, kept as JSON in its model folder."""

    name = "test_majority"
    learns = True
    fits: ClassVar[list[int]] = []

    def _path(self) -> Any:
        return self.model_dir / "majority.json"

    def fit(self, examples: list[Example]) -> FitResult:
        counts: dict[str, int] = {}
        for example in examples:
            for region in example.result:
                for choice in region.get("value", {}).get("choices", []):
                    counts[choice] = counts.get(choice, 0) + 1
        if not counts:
            raise BackendUnfit("no labeled examples yet", field="backend")
        best = max(sorted(counts), key=counts.__getitem__)
        version = f"majority:{len(examples)}:{best}"
        self.model_dir.mkdir(parents=True, exist_ok=True)
        self._path().write_text(json.dumps({"choice": best, "version": version}))
        Majority.fits.append(len(examples))
        return FitResult(model_version=version, examples=len(examples), info={"counts": counts})

    def model_version(self) -> str:
        return self.prelabeler.model_version

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        choice = json.loads(self._path().read_text())["choice"]
        return [self.answer(task, choice) for task in tasks]


TEST_BACKENDS = {
    cls.name: f"{cls.__module__}.{cls.__qualname__}"
    for cls in (
        FirstChoice,
        Failing,
        Flaky,
        OffConfig,
        CancelledMidway,
        OutlastsItsLease,
        RacedByAnotherWorker,
        Majority,
    )
}
