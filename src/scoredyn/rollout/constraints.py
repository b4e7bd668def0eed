r"""Bond-length constraints on SD moves, the counterpart of the MD's ``constraints = h-bonds``.

The MD that produced the training data holds every bond to a hydrogen at its
force-field length (LINCS), so the true transition kernel lives on that constraint
manifold. A learned move carries small errors in those lengths, and with nothing to
pull them back they random-walk from step to step until a rejection limit stops the
run. Projecting each hydrogen back onto its bond length after every move, along the
bond (each hydrogen has exactly one bond, so the projections are independent), keeps
SD on the same manifold as the MD, the way a constrained integrator does.
"""

from __future__ import annotations

import numpy as np
import torch

from scoredyn.molecules import SoluteTopology


class HBondConstraints:
    """Fixed X-H bond lengths, taken from a reference structure.

    Parameters
    ----------
    top : the solute topology (elements and bonds)
    reference : [N, 3] a structure whose X-H lengths are the constraint lengths (Angstrom)
    """

    def __init__(self, top: SoluteTopology, reference: np.ndarray) -> None:
        heavy, hydrogen = [], []
        for i, j in np.asarray(top.bonds).tolist():
            hi, hj = top.elements[i] == "H", top.elements[j] == "H"
            if hi != hj:
                heavy.append(j if hi else i)
                hydrogen.append(i if hi else j)
        self.heavy = torch.tensor(heavy, dtype=torch.long)  # [H]
        self.hydrogen = torch.tensor(hydrogen, dtype=torch.long)  # [H]
        ref = np.asarray(reference, dtype=np.float64)
        self.length = torch.as_tensor(np.linalg.norm(ref[hydrogen] - ref[heavy], axis=-1))  # [H]

    def __len__(self) -> int:
        return int(self.hydrogen.numel())

    def apply(self, pos: torch.Tensor) -> torch.Tensor:
        """pos [R, N, 3] with every hydrogen moved along its bond to the constraint length."""
        if not len(self):
            return pos
        dev = pos.device
        h, x = self.hydrogen.to(dev), self.heavy.to(dev)
        bond = pos[:, h] - pos[:, x]  # [R, H, 3]
        norm = bond.norm(dim=-1, keepdim=True).clamp_min(1e-6)
        out = pos.clone()
        out[:, h] = pos[:, x] + bond * (self.length.to(dev, pos.dtype)[:, None] / norm)
        return out
