"""What packing a dataset wrote (``dataset/summary.json``), as a typed record that training
reports and ``scoredyn estimate`` read."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from scoredyn.errors import ScoredynError
from scoredyn.io import atomic_write_text


@dataclass(frozen=True)
class SourceSummary:
    """One packed trajectory: its frames, its pairs in each split, and the pairs it could give."""

    path: str
    molecule: str
    frames: int
    train: int
    val: int
    possible: int  # frames - lag: pairs before the train/validation split drops those across a boundary


@dataclass(frozen=True)
class DatasetSummary:
    vocabulary: list[str]  # the sorted atom labels; a type's index is its position here
    atom_types: str  # what the labels are: "types" (force-field atom types), "elements" or "names"
    skipped: int  # source trajectories rejected as unreadable or malformed
    sources: list[SourceSummary]
    train_pairs: int
    val_pairs: int
    possible_pairs: int
    kept_fraction: float  # (train_pairs + val_pairs) / possible_pairs

    @property
    def pairs(self) -> int:
        """Training and validation pairs together."""
        return self.train_pairs + self.val_pairs

    def molecules(self) -> set[str]:
        return {s.molecule for s in self.sources}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    def write(self, path: Path | str) -> None:
        atomic_write_text(path, self.to_json())

    @classmethod
    def from_json(cls, path: Path | str) -> DatasetSummary:
        """The summary in ``path``.

        Raises
        ------
        ScoredynError
            For a missing or unreadable file, naming the rule to rerun.
        """
        try:
            d = json.loads(Path(path).read_text())
            return cls(**(d | {"sources": [SourceSummary(**s) for s in d["sources"]]}))
        except FileNotFoundError:
            raise ScoredynError(f"{path}: missing; run the dataset rule (snakemake --cores N) first") from None
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ScoredynError(f"{path}: not a readable dataset summary ({exc}); rerun the dataset rule") from None
