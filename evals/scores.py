"""Per-label precision and recall over labelled cases (rule families, creep categories)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict


class FamilyScore(BaseModel):
    """Precision and recall of one label (a rule family, a creep category) over the cases:
    expected or not, found or not."""

    model_config = ConfigDict(extra="forbid")

    tp: int = 0
    """Cases where the label was expected and found."""
    fp: int = 0
    """Cases where it was found but not expected."""
    fn: int = 0
    """Cases where it was expected but not found."""
    precision: float = 1.0
    """tp / (tp + fp); 1.0 when nothing was found."""
    recall: float = 1.0
    """tp / (tp + fn); 1.0 when nothing was expected."""


def tally(scores: dict[str, FamilyScore], expected: set[str], found: set[str]) -> None:
    """Count one case into the scores of every label it expected or got."""
    for name in expected | found:
        s = scores.setdefault(name, FamilyScore())
        if name in expected and name in found:
            s.tp += 1
        elif name in found:
            s.fp += 1
        else:
            s.fn += 1


def finish(scores: Iterable[FamilyScore]) -> None:
    """Set precision and recall from the counts."""
    for s in scores:
        s.precision = s.tp / (s.tp + s.fp) if s.tp + s.fp else 1.0
        s.recall = s.tp / (s.tp + s.fn) if s.tp + s.fn else 1.0
