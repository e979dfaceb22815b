"""Who said what, measured: the extractor against hand labels of the seed articles.

A found statement matches a labelled one when they are in the same article and their quote
spans overlap by at least half of the shorter one (labels and extractor may end a reported
clause a few words apart); each label matches at most one statement. The speaker is right
when it is the same person (surname, transliterations folded) or the same organisation
(same head word and country: "Russia's foreign ministry" is "The Russian Foreign Ministry").
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from index.speakers import fold, surname_key
from index.statements import Statement, extract

LABELS = Path(__file__).parent / "statements" / "seed.jsonl"


@dataclass(frozen=True)
class LabelledStatement:
    doc_id: str
    kind: str
    speaker: str
    start: int
    end: int


@dataclass(frozen=True)
class StatementQuality:
    labelled: int
    found: int
    matched: int
    right_speaker: int

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.labelled if self.labelled else 0.0

    @property
    def speaker_precision(self) -> float:
        return self.right_speaker / self.found if self.found else 0.0

    @property
    def speaker_recall(self) -> float:
        return self.right_speaker / self.labelled if self.labelled else 0.0


def load_labels(path: Path = LABELS) -> list[LabelledStatement]:
    labels = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            quote = raw["quote"]
            labels.append(
                LabelledStatement(
                    raw["doc_id"], raw["kind"], raw["speaker"], quote["start"], quote["end"]
                )
            )
    return labels


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    shared = min(a[1], b[1]) - max(a[0], b[0])
    shorter = min(a[1] - a[0], b[1] - b[0])
    return shared / shorter if shared > 0 and shorter > 0 else 0.0


def _words(name: str) -> list[str]:
    return [w for w in fold(name.replace("’s", "").replace("'s", "")).split() if w != "the"]


def same_speaker(found: str, labelled: str) -> bool:
    a, b = _words(found), _words(labelled)
    if not a or not b:
        return False
    if surname_key(a[-1]) == surname_key(b[-1]) and (len(a) == 1 or len(b) == 1 or a == b):
        return True
    same_head = surname_key(a[-1]) == surname_key(b[-1])
    return same_head and a[0][:4] == b[0][:4]


def evaluate_statements(
    texts: dict[str, str], labels: Iterable[LabelledStatement]
) -> StatementQuality:
    """Precision and recall of statement spans and of their speakers."""
    labels = list(labels)
    found: dict[str, list[Statement]] = {d: list(extract(t).statements) for d, t in texts.items()}
    pairs = []
    for li, label in enumerate(labels):
        for si, statement in enumerate(found.get(label.doc_id, [])):
            score = _overlap((label.start, label.end), (statement.start, statement.end))
            if score >= 0.5:
                shared = min(label.end, statement.end) - max(label.start, statement.start)
                pairs.append((-score, -shared, li, label.doc_id, si))
    used_labels: set[int] = set()
    used_found: set[tuple[str, int]] = set()
    right = 0
    for _, _, li, doc_id, si in sorted(pairs):
        if li in used_labels or (doc_id, si) in used_found:
            continue
        used_labels.add(li)
        used_found.add((doc_id, si))
        right += same_speaker(found[doc_id][si].speaker.name, labels[li].speaker)
    return StatementQuality(
        labelled=len(labels),
        found=sum(len(v) for v in found.values()),
        matched=len(used_labels),
        right_speaker=right,
    )
