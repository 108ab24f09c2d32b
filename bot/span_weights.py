"""The span extractor's weights, in span_weights.json beside this file, written by
``bench/short_answers.py --fit A --write`` (fitted on split A of the SQuAD sample, B held out;
docs/quality.md). Names are feature keys (bot/span_features.py, bot/span_syntax.py). ``WEIGHTS``
serve sentences without a dependency parse, ``SYNTAX_WEIGHTS`` sentences with one (bot/syntax.py):
each set was fitted with the features it sees.
"""

from __future__ import annotations

import json
from pathlib import Path

FILE = Path(__file__).with_name("span_weights.json")
_data = json.loads(FILE.read_text(encoding="utf-8"))
WEIGHTS: dict[str, float] = _data["WEIGHTS"]
SYNTAX_WEIGHTS: dict[str, float] = _data["SYNTAX_WEIGHTS"]


def write(name: str, weights: dict[str, float]) -> None:
    """Store ``weights`` as the set ``name`` (the other set is kept as it is on disk)."""
    data = json.loads(FILE.read_text(encoding="utf-8"))
    data[name] = {k: weights[k] for k in sorted(weights)}
    tmp = FILE.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=0) + "\n", encoding="utf-8")
    tmp.replace(FILE)
