"""The dataset rule: which trajectories feed the training pairs, packed into one file."""

from __future__ import annotations

from pathlib import Path

from scoredyn.config import Config
from scoredyn.data.dataset import Source, pack_dataset
from scoredyn.data.summary import DatasetSummary


def dataset_stage(cfg: Config, sources: dict[str, list[Path]], out_h5: Path, out_json: Path) -> DatasetSummary:
    """Pack ``sources`` (molecule -> trajectory files) and ``dataset.extra`` into ``out_h5``.

    Writes a JSON summary: pairs per split, the vocabulary and one entry per source.
    """
    ds = cfg.dataset
    srcs = [Source(Path(p), m) for m, files in sources.items() for p in files]
    srcs += [Source(e.path, e.molecule) for e in ds.extra]
    summary = pack_dataset(srcs, out_h5, ds.lag_ps, ds.val_fraction, ds.block_ps, ds.atom_types, cfg.seed)
    summary.write(out_json)
    return summary
