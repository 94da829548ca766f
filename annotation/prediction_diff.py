"""Compare an annotation's result with the prediction it started from. Plain Python.

Stored with the annotation so that the acceptance rate of each model version
(how often annotators keep a suggestion unchanged) can be measured later.
"""

import json


def _region_key(region: dict) -> str:
    # A region is the same when what it says is the same; ids and scores are bookkeeping.
    return json.dumps(
        {k: region.get(k) for k in ("from_name", "to_name", "type", "value")},
        sort_keys=True,
        ensure_ascii=False,
    )


def prediction_diff(prediction_result: list, annotation_result: list) -> dict:
    predicted = {_region_key(r) for r in prediction_result if isinstance(r, dict)}
    annotated = {_region_key(r) for r in annotation_result if isinstance(r, dict)}
    kept = len(predicted & annotated)
    return {
        "accepted": predicted == annotated,
        "kept": kept,
        "removed": len(predicted - annotated),
        "added": len(annotated - predicted),
    }
