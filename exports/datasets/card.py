"""The dataset card: a README.md in the Hugging Face dataset-card shape (YAML front matter, then Markdown).

Pure: it is given everything it shows. No time of building appears in it, so a version built twice from
the same recipe and data has the same card, byte for byte.
"""

import json
from dataclasses import dataclass, field

import yaml


@dataclass
class CardFacts:
    version_id: int
    name: str
    project_id: int
    recipe: dict
    counts: dict
    steps: list[dict]
    files: list[dict]
    agreement: dict
    parent_id: int | None = None
    diff: dict | None = None
    data_files: list[dict] = field(default_factory=list)


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def card_render(facts: CardFacts) -> str:
    splits = facts.counts.get("splits", {})
    front: dict[str, object] = {
        "pretty_name": facts.name or f"Dataset version {facts.version_id}",
        "tags": ["tessera", "label-studio"],
        "dataset_info": {"splits": [{"name": name, "num_examples": count} for name, count in splits.items()]},
    }
    if facts.data_files:
        front["configs"] = [{"config_name": "default", "data_files": facts.data_files}]
    parts = [
        "---",
        yaml.safe_dump(front, allow_unicode=True, sort_keys=True).rstrip(),
        "---",
        "",
        f"# {facts.name or f'Dataset version {facts.version_id}'}",
        "",
        f"Dataset version {facts.version_id} of project {facts.project_id}, built by Tessera.",
        "",
        "## Recipe",
        "",
        "```json",
        json.dumps(facts.recipe, ensure_ascii=False, indent=2, sort_keys=True),
        "```",
        "",
        "## Counts",
        "",
        _table(
            ["split", "tasks"],
            [[name, count] for name, count in splits.items()] + [["total", facts.counts.get("total", 0)]],
        ),  # fmt: skip
        "",
        "## Label distribution",
        "",
    ]
    labels = facts.counts.get("labels", {})
    names = sorted({label for per_split in labels.values() for label in per_split})
    if names:
        parts.append(
            _table(["label", *splits], [[n, *(labels.get(s, {}).get(n, 0) for s in splits)] for n in names])
        )
    else:
        parts.append("No labels.")
    parts += ["", "## Agreement", ""]
    if facts.agreement.get("tasks"):
        parts.append(
            _table(
                ["tasks with agreement", "mean", "min", "max"],
                [
                    [
                        facts.agreement["tasks"],
                        facts.agreement["mean"],
                        facts.agreement["min"],
                        facts.agreement["max"],
                    ]
                ],
            )
        )
    else:
        parts.append("No task of this version has two or more annotations, so no agreement was measured.")
    parts += ["", "## Curation", ""]
    if facts.steps:
        parts.append(
            _table(
                ["step", "removed", "changed", "details"],
                [[s["name"], s["removed"], s["changed"], json.dumps(s["details"], ensure_ascii=False, sort_keys=True)]
                 for s in facts.steps],
            )
        )  # fmt: skip
    else:
        parts.append("No deduplication or redaction.")
    parts += ["", "## Lineage", ""]
    if facts.parent_id is None:
        parts.append("The project's first dataset version.")
    else:
        diff = facts.diff or {}
        parts.append(f"Parent version: {facts.parent_id}.")
        parts.append("")
        parts.append(
            _table(
                ["added", "removed", "relabeled"],
                [[diff.get("added", 0), diff.get("removed", 0), diff.get("relabeled", 0)]],
            )
        )
    parts += ["", "## Files", ""]
    parts.append(
        _table(
            ["format", "split", "bytes", "sha256"],
            [[f["format"], f["split"] or "-", f["bytes"], f["sha256"]] for f in facts.files],
        )
    )
    return "\n".join(parts) + "\n"
