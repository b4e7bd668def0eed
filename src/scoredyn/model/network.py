r"""The noise-prediction graph network of score dynamics (Hsu et al., sec. 2.5).

Encoder (eq. 7-8):

.. math::

    h_i = M_H(\mathrm{onehot}(a_i)) + M_T(\mathrm{RFF}(\tau)), \qquad
    e_{ij} = M_E(r_{ij} \oplus |r_{ij}| \oplus r'_{ij} \oplus |r'_{ij}|),

with :math:`r_{ij} = b\,(r_j - r_i)` in the conditioning structure and
:math:`r'_{ij} = r_{ij} + z_{\tau,j} - z_{\tau,i}` after the noisy displacement. Edges join
all atom pairs closer than the cut-off (Angstrom) in the conditioning structure.

Units of the edge geometry. The network diffuses the scaled displacement
:math:`b z` (:class:`~scoredyn.diffusion.schedule.VPSchedule`), so positions are scaled by
the same *b* (``position_scale``) before they meet it: as tau -> 0,
:math:`z_\tau \to b z` and :math:`r'_{ij} \to b\,(r_{ij}^{t+dt})`, the bond vector of the
next frame, as in the method authors' code. Models written before ``position_scale``
was recorded used :math:`b = 1` here (positions in Angstrom against a scaled z, so the
"after" vector was :math:`r + 2\,dz`, not a bond vector); they load as they were trained.

Equivariant variant (``equivariant=True``). The paper's network reads the Cartesian
components of the edge vectors and must learn rotation equivariance from rotated copies
(paper sec. 2.5 names this as its weakness). Here the edge encoder reads only invariants,
:math:`|r_{ij}|, |r'_{ij}|, r_{ij}\cdot r'_{ij}/|r_{ij}|`, and the decoder returns vectors
along the edges,

.. math::

    \epsilon_i = \sum_j a_{ij}\,u'_{ij} + c_{ij}\,u_{ij}, \qquad
    u = \frac{r}{|r| + 1}, \qquad (a_{ij}, c_{ij}) = M_A(e_{ij} \oplus h_i \oplus h_j),

with scalar weights from invariant features and the last Linear zero-initialised, so the
map is E(3)-equivariant by construction (in the style of EGNN and PaiNN) and "push the
noise back along the bond" is one scalar per edge. Its structure mean is removed: the
centroid of the noise cannot be read from differences and is the Gaussian skip's.

Signed torsions (``torsion_features=True``, equivariant only). Distances and dot products
do not change in a mirror image, so the equivariant network above is E(3)-equivariant:
it answers a structure's mirror image with the mirror image of its answer. Telling a
chiral molecule's phi = -60 from phi = +60 (a peptide's alpha_R from alpha_L, of very
different free energies) is then left to distances between side-chain atoms, which a
short training does not learn: a 1 ns SD rollout of the demo spent half its frames at
phi > 0, which MD visits 0.2% of the time. With this option the edges about each
rotatable bond j-k (both directions) also read the cosine and sine of one torsion
i-j-k-l about it (the anchor's ``torsions``: phi, psi and methyl rotors), in the
conditioning structure and after the noisy displacement,

.. math::

    e_{jk} = M_E(\ldots \oplus \cos\phi \oplus \sin\phi \oplus \cos\phi' \oplus \sin\phi'),

zeros on every other edge. The sine is a pseudoscalar, so the network stays exactly
rotation-equivariant but not mirror-equivariant (SE(3), as the molecule's chirality
requires of the model, if not of the physics).

Torsion head (``torsion_head=True``, with the torsion features). A torsion's drift (the
pull of phi back into its basin, 10-40 degrees per ps at a basin's edge) moves a whole
side of the molecule rigidly, which the edge-vector decoder must build atom by atom from
edges; networks trained for a few thousand steps here learn none of it (the correlation
of a move's phi change with phi: about 0 against MD's -0.44). The head adds one scalar
per rotatable torsion q, from the features of its bond's edge j->k, times the rigid turn
of the atoms on the smaller side of the bond (:func:`~scoredyn.model.anchor.torsion_sides`),

.. math::

    \epsilon_m \mathrel{+}= w_q\, \hat e_{jk} \times (r_m - r_k), \qquad
    w_q = M_W(e_{jk} \oplus h_j \oplus h_k),

its last Linear zero-initialised. The turn is a pseudovector, so the head keeps rotation
equivariance and, as the torsion features do, breaks the mirror symmetry.

Whole turns (``whole_turn=True``, with the torsion head). In MD a torsion's change is shared
between its two sides: over 1 ps of the demo's production, the rigid turn of phi's smaller
(N-terminal) side about N-CA carries 60% of the two sides' relative turn, and the larger side
turns back by the other 40%. A least-squares fit of the smaller side's turn alone therefore
learns only its share of the torsion's drift, and the rest is left to the edge-vector decoder.
This option gives each torsion a second scalar that turns the whole structure about the same
bond,

.. math::

    \epsilon_m \mathrel{+}= u_q\, \hat e_{jk} \times (r_m - r_k) \quad \text{for every atom } m,

so that the first scalar, the smaller side's turn against the rest, is the torsion's change
itself. A whole turn leaves every internal coordinate as it is.

Processor: MeshGraphNets blocks (Pfaff et al. 2021) with one edge set and residual
updates, :math:`e_{ij} \leftarrow e_{ij} + M_e(e_{ij} \oplus h_i \oplus h_j)`, then
:math:`h_i \leftarrow h_i + M_n(h_i \oplus \sum_j e_{ij})`.

Decoder (eq. 9): :math:`\epsilon_i = M_O(h_i)`, an MLP without the final LayerNorm.

Gaussian skip (optional, on by default in the workflow). The network above sees the
noisy displacement only through differences :math:`z_{\tau,j} - z_{\tau,i}`, so it
cannot represent the map :math:`\epsilon \approx z_\tau/\sigma_\tau` that is exact
at high noise, and it never sees the centroid of :math:`z_\tau` at all. The ODE solver
multiplies noise-prediction errors near :math:`\tau_{max}` by about
:math:`1/\alpha_{\tau_{max}} \approx 150`, so those gaps turn into displacements of
tens of Angstrom. With the skip, the network predicts only the deviation from the
exact noise prediction of a Gaussian displacement with the data's variances
(per coordinate: ``skip_var`` for the centroid-free part, ``skip_var_centroid`` for the
centroid of an N-atom structure),

.. math::

    \epsilon_\theta = \sigma_\tau \Big(\frac{z_\tau - \bar z_\tau}{\alpha_\tau^2 v' + \sigma_\tau^2}
        + \frac{\bar z_\tau}{\alpha_\tau^2 N v_c + \sigma_\tau^2}\Big)
        + \sqrt{\frac{\alpha_\tau^2 v'}{\alpha_\tau^2 v' + \sigma_\tau^2}}\; M_O(h_i),
    \qquad v' = \frac{N v}{N - 1},

whose second factor is the posterior standard deviation of the noise, so the
network's target has unit scale at every tau and its errors are damped where the
solver amplifies them (the preconditioning of Karras et al. 2022, written for noise
prediction). ``skip_var = 0`` gives the paper's plain parametrisation.

The first Linear of each edge MLP acts on a concatenation ``[e_ij, h_i, h_j]``; it is
computed as ``W_e e_ij + (W_i h)_i + (W_j h)_j``, the node projections done once per
node and gathered, which is the same map at a fraction of the cost.

Sampling evaluates the network tens of times on one conditioning structure, so the work
that depends on ``r_t`` alone is split off (:meth:`ScoreNetwork.condition`): the atom-type
embedding, the graph, the ``r_ij`` half of the edge encoder's first Linear and the atom
counts of the skip. :meth:`ScoreNetwork.denoise` then does only what depends on ``z_tau``
and ``tau``. ``forward`` is the two in sequence, so training and sampling share one map.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
from torch import nn
from torch_geometric.utils import scatter

from scoredyn.diffusion.schedule import VPSchedule, centroid_free_variance, residual_variance
from scoredyn.graph import dihedral_cos_sin, edge_positions, radius_graph
from scoredyn.model.layers import MLP, GaussianFourier


@dataclass(frozen=True)
class NetworkConfig:
    """Hyperparameters (Table 1 of the paper: width 200, 5 blocks, 4 A cut-off)."""

    n_types: int
    width: int = 200
    n_blocks: int = 5
    cutoff: float = 4.0
    rff_scale: float = 16.0
    skip_var: float = 0.0  # variance per coordinate of the scaled centroid-free displacement; 0 = no skip
    skip_var_centroid: float = 0.0  # variance per coordinate of the scaled centroid displacement
    position_scale: float = 1.0  # b: positions scaled into z's units in the edges; 1.0 = models before version 2
    equivariant: bool = False  # invariant edge inputs and an edge-vector output (E(3)-equivariant)
    torsion_features: bool = False  # signed torsions of rotatable bonds on their edges (equivariant only)
    torsion_head: bool = False  # one scalar per rotatable torsion turning its bond's smaller side
    input_scaling: bool = False  # the network reads the skip's estimate of b z, not z_tau (needs the skip)
    mean_head: bool = False  # the skip's Gaussian has a mean: each torsion turned by a scalar of r_t alone
    whole_turn: bool = False  # the torsion head also turns the whole structure about each torsion's bond

    def to_dict(self) -> dict:
        return asdict(self)


class PairMLP(nn.Module):
    """An MLP of [e_ij, h_i, h_j] whose first Linear is split over its three inputs: W_e e_ij +
    (W_i h)_i + (W_j h)_j, the node projections done once per node and gathered; ``out`` is the rest."""

    def __init__(self, width: int, out: nn.Module) -> None:
        super().__init__()
        self.w_e = nn.Linear(width, width)
        self.w_i = nn.Linear(width, width, bias=False)
        self.w_j = nn.Linear(width, width, bias=False)
        self.out = out

    def pair(self, e: torch.Tensor, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """out(first Linear of [e_ij, h_i, h_j]) [E, ...]."""
        i, j = edge_index
        return self.out(self.w_e(e) + self.w_i(h)[i] + self.w_j(h)[j])


class EdgeUpdate(PairMLP):
    """e_ij + M_e([e_ij, h_i, h_j]) with the first Linear split over its three inputs."""

    def __init__(self, width: int) -> None:
        super().__init__(width, nn.Sequential(nn.SiLU(), nn.Linear(width, width), nn.LayerNorm(width)))

    def forward(self, e: torch.Tensor, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return e + self.pair(e, h, edge_index)


class NodeUpdate(nn.Module):
    """h_i + M_n([h_i, sum_j e_ij])."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.mlp = MLP(2 * width, width, width)

    def forward(self, h: torch.Tensor, e: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        agg = scatter(e, edge_index[0], dim=0, dim_size=h.shape[0], reduce="sum")
        return h + self.mlp(torch.cat([h, agg], dim=-1))


class ZeroPairMLP(PairMLP):
    """A PairMLP with ``n_out`` scalar outputs whose last Linear starts at zero (an output head)."""

    def __init__(self, width: int, n_out: int) -> None:
        super().__init__(width, nn.Sequential(nn.SiLU(), nn.Linear(width, n_out)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in (self.w_e, self.w_i, self.w_j):
            m.reset_parameters()
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)


class EdgeVectorHead(ZeroPairMLP):
    """eps_i = sum_j a_ij u'_ij + c_ij u_ij with (a, c) = M_A([e_ij, h_i, h_j]), zero at initialisation."""

    def __init__(self, width: int) -> None:
        super().__init__(width, 2)

    def forward(self, e: torch.Tensor, h: torch.Tensor, edge_index: torch.Tensor, r: torch.Tensor,
                rp: torch.Tensor) -> torch.Tensor:  # fmt: skip
        """[n, 3] from edge features e [E, w], node features h [n, w] and edge vectors r, r' [E, 3]."""
        coef = self.pair(e, h, edge_index)  # [E, 2]
        u, up = r / (r.norm(dim=-1, keepdim=True) + 1.0), rp / (rp.norm(dim=-1, keepdim=True) + 1.0)
        vec = coef[:, :1] * up + coef[:, 1:] * u  # [E, 3]
        return scatter(vec, edge_index[0], dim=0, dim_size=h.shape[0], reduce="sum")


class TorsionHead(ZeroPairMLP):
    """eps_m += w_q t_qm for the atoms m each torsion q turns, w_q = M_W([e_jk, h_j, h_k]), zero at
    initialisation; t_qm is the rigid turn of atom m about the torsion's bond. With ``whole``, also
    u_q e_jk x (r_m - r_k) for every atom m of the torsion's structure, u_q a second output of M_W, up
    to a translation of each structure (the caller removes the output's centroid)."""

    def __init__(self, width: int, whole: bool = False) -> None:
        super().__init__(width, 2 if whole else 1)
        self.whole = whole

    def forward(self, e: torch.Tensor, h: torch.Tensor, edge_index: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        """[n, 3]: the turns of every torsion of ``cond`` weighted by their scalars, from edge features e [E, w]
        and node features h [n, w]."""
        edges = cond.torsion_edges[0]  # [T] the edge j->k of each torsion
        w = self.pair(e[edges], h, edge_index[:, edges])  # [T, 1 or 2]
        turn = w[cond.sides[:, 0], :1] * cond.turns  # [S, 3]
        out = scatter(turn, cond.sides[:, 1], dim=0, dim_size=h.shape[0], reduce="sum")
        if self.whole:
            # sum_q u_q e_q x (r_m - r_kq) over the torsions of atom m's structure is W_g x r_m plus a
            # translation of the structure, which the network's centroid removal takes out anyway
            graph = cond.batch[cond.torsions[:, 2]]  # [T]
            big_w = scatter(w[:, 1:] * cond.axes, graph, dim=0, dim_size=cond.n_graphs, reduce="sum")  # [G, 3]
            out = out + torch.cross(big_w[cond.batch], cond.r, dim=-1)
        return out


class Conditioning(NamedTuple):
    """What the network needs of a batch of conditioning structures, computed once per SD step.

    n nodes in G structures with E edges; ``w`` is the network width.
    """

    r: torch.Tensor  # [n, 3] structures, Angstrom
    batch: torch.Tensor  # [n] long, structure of each atom
    edge_index: torch.Tensor  # [2, E]
    h_type: torch.Tensor  # [n, w] atom-type embedding
    rij: torch.Tensor  # [E, 3] b (r_j - r_i), in the units of the scaled displacement
    edge_static: torch.Tensor  # [E, w] the r_ij part of the edge encoder's first Linear, with its bias
    counts: torch.Tensor  # [n, 1] atoms in the structure of each atom
    n_graphs: int
    torsions: torch.Tensor | None = None  # [T, 4] rotatable torsions, with torsion_features
    torsion_edges: torch.Tensor | None = None  # [2, T] the edges j->k and k->j of each
    sides: torch.Tensor | None = None  # [S, 2] (torsion, atom) of the atoms each turns, with torsion_head
    turns: torch.Tensor | None = None  # [S, 3] e_jk x (r_m - r_k) of each, Angstrom
    mean: torch.Tensor | None = None  # [n, 3] the skip's mean of b z, centroid-free, with mean_head
    axes: torch.Tensor | None = None  # [T, 3] unit vector j->k of each torsion's bond, with torsion_head


class ScoreNetwork(nn.Module):
    """eps_theta(z_tau, tau, r_t) on the graph of the conditioning structure.

    Parameters of :meth:`forward`
    -----------------------------
    z : [n, 3] noisy (scaled) displacement of every atom
    tau : [G] diffusion time of each structure
    r : [n, 3] conditioning structure, Angstrom
    types : [n] long, atom-type index into the vocabulary
    batch : [n] long, structure of each atom (sorted)
    edge_index : [2, E], optional; built from ``r`` when not given
    torsions : [T, 4] long, one torsion i-j-k-l about each rotatable bond of every structure
        (indices into the flat atoms); needed with ``torsion_features`` and ignored otherwise
    sides : [S, 2] long, (row of ``torsions``, atom) of the atoms each torsion turns; needed with
        ``torsion_head`` and ignored otherwise

    Returns
    -------
    [n, 3] predicted noise
    """

    def __init__(self, cfg: NetworkConfig, schedule: VPSchedule | None = None) -> None:
        super().__init__()
        if cfg.skip_var > 0 and schedule is None:
            raise ValueError("a network with a Gaussian skip needs its noise schedule")
        if cfg.input_scaling and cfg.skip_var <= 0:
            raise ValueError("input_scaling uses the Gaussian skip's variance: it needs skip_var > 0")
        if cfg.torsion_features and not cfg.equivariant:
            raise ValueError("torsion features are an input of the equivariant network only")
        if cfg.torsion_head and not cfg.torsion_features:
            raise ValueError("the torsion head reads the torsion features: turn them on too")
        if cfg.mean_head and not (cfg.torsion_head and cfg.skip_var > 0):
            raise ValueError("the mean head turns the torsion head's sides in the Gaussian skip: it needs both")
        if cfg.whole_turn and not cfg.torsion_head:
            raise ValueError("whole turns are a second output of the torsion head: turn it on too")
        self.cfg, self.schedule = cfg, schedule
        w = cfg.width
        self.rff = GaussianFourier(w, cfg.rff_scale)
        self.node_type = MLP(cfg.n_types, w, w)
        self.node_time = MLP(w, w, w)
        self.edge_enc = MLP((7 if cfg.torsion_features else 3) if cfg.equivariant else 8, w, w)
        self.edges = nn.ModuleList(EdgeUpdate(w) for _ in range(cfg.n_blocks))
        self.nodes = nn.ModuleList(NodeUpdate(w) for _ in range(cfg.n_blocks))
        self.decoder = EdgeVectorHead(w) if cfg.equivariant else MLP(w, w, 3, layer_norm=False)
        self.torsion_head = TorsionHead(w, cfg.whole_turn) if cfg.torsion_head else None
        self.mean_head = nn.Sequential(nn.Linear(3 * w, w), nn.SiLU(), nn.Linear(w, 1)) if cfg.mean_head else None
        self._zero_mean()

    def condition(
        self,
        r: torch.Tensor,
        types: torch.Tensor,
        batch: torch.Tensor,
        edge_index: torch.Tensor | None = None,
        torsions: torch.Tensor | None = None,
        sides: torch.Tensor | None = None,
    ) -> Conditioning:
        """The part of the network that depends on the conditioning structures r [n, 3] alone."""
        n_graphs = int(batch[-1]) + 1 if batch.numel() else 0
        if edge_index is None:
            edge_index = radius_graph(r, batch, self.cfg.cutoff)
        i, j = edge_index
        rij = self.cfg.position_scale * (r[j] - r[i])  # [E, 3]
        first = self.edge_enc.net[0]
        torsion_edges = None
        if self.cfg.torsion_features:
            if torsions is None:
                raise ValueError("this network reads torsion features: give it the rotatable torsions")
            bond = torsions[:, 1:3]
            torsion_edges = edge_positions(edge_index, len(r), torch.cat([bond, bond.flip(1)])).view(2, -1)
        if self.cfg.equivariant:
            static = nn.functional.linear(rij.norm(dim=-1, keepdim=True), first.weight[:, :1], first.bias)
            if torsion_edges is not None:
                static = static + self._on_torsion_edges(dihedral_cos_sin(r, torsions), first.weight[:, 3:5],
                                                         torsion_edges, len(rij))  # fmt: skip
        else:
            static = nn.functional.linear(
                torch.cat([rij, rij.norm(dim=-1, keepdim=True)], -1), first.weight[:, :4], first.bias
            )
        onehot = nn.functional.one_hot(types, self.cfg.n_types).to(r.dtype)
        counts = torch.bincount(batch, minlength=n_graphs).to(r.dtype)[batch, None]
        turns = axes = None
        if self.cfg.torsion_head:
            if sides is None:
                raise ValueError("this network has a torsion head: give it the atoms each torsion turns")
            bond = r[torsions[:, 2]] - r[torsions[:, 1]]  # [T, 3]
            axes = bond / bond.norm(dim=-1, keepdim=True).clamp_min(1e-6)
            k = torsions[sides[:, 0], 2]  # [S]
            turns = torch.cross(axes[sides[:, 0]], r[sides[:, 1]] - r[k], dim=-1)
        h_type = self.node_type(onehot)
        mean = None
        if self.mean_head is not None:
            mean = self._torsion_mean(h_type, static, torsions, torsion_edges, sides, turns, batch, n_graphs)
        return Conditioning(r, batch, edge_index, h_type, rij, static, counts, n_graphs,
                            torsions if torsion_edges is not None else None, torsion_edges,
                            sides if turns is not None else None, turns, mean, axes)  # fmt: skip

    def _torsion_mean(self, h_type: torch.Tensor, static: torch.Tensor, torsions: torch.Tensor,
                      torsion_edges: torch.Tensor, sides: torch.Tensor, turns: torch.Tensor, batch: torch.Tensor,
                      n_graphs: int) -> torch.Tensor:  # fmt: skip
        r"""The mean move [n, 3] (b-scaled) of the Gaussian skip: each rotatable torsion's smaller side
        turned by :math:`\theta_k`, one scalar of the conditioning structure alone (the torsion's own
        edge, with its cosine and sine, and the types of its bond atoms), centroid removed.

        The noise loss weighs the network's own output by the skip's posterior variance, which
        vanishes at high noise where that output is the mean move, and sampled moves keep only
        70-85% of the mean the network gives there (``bench/drift.py``). A mean inside the
        Gaussian is the same at every noise level by construction. (At 2000 steps,
        ``bench/fidelity.py`` measured no gain in the drift from it.)
        """
        x = torch.cat([static[torsion_edges[0]], h_type[torsions[:, 1]], h_type[torsions[:, 2]]], dim=-1)
        theta = self.mean_head(x)[:, 0]  # [T] radians
        turn = theta[sides[:, 0], None] * turns  # [S, 3] Angstrom
        m = self.cfg.position_scale * scatter(turn, sides[:, 1], dim=0, dim_size=len(h_type), reduce="sum")
        return m - scatter(m, batch, dim=0, dim_size=n_graphs, reduce="mean")[batch]

    @staticmethod
    def _on_torsion_edges(feats: torch.Tensor, weight: torch.Tensor, edges: torch.Tensor, n_edges: int) -> torch.Tensor:
        """W feats [E, w]: the torsion features feats [T, 2] through weight [w, 2] on both edges [2, T] of
        each torsion's bond, zero on the others."""
        out = feats.new_zeros(n_edges, weight.shape[0])
        val = nn.functional.linear(feats, weight)  # [T, w]
        return out.index_put((edges.reshape(-1),), torch.cat([val, val]))

    def after_edges(self, z: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        """r'_ij [E, 3] = r_ij + z_j - z_i: the edge vectors after the noisy displacement z [n, 3]."""
        i, j = cond.edge_index
        return cond.rij + z[j] - z[i]

    def encode_edges(self, rp: torch.Tensor, cond: Conditioning, z: torch.Tensor | None = None) -> torch.Tensor:
        """e_ij [E, w] = M_E(r_ij, |r_ij|, r'_ij, |r'_ij|), or M_E(|r_ij|, |r'_ij|, r_ij.r'_ij/|r_ij|) when
        equivariant (and the torsion features), from the after vectors rp [E, 3] of the noisy
        displacement z [n, 3]; the r_ij part is taken from ``cond``."""
        first = self.edge_enc.net[0]
        norm = rp.norm(dim=-1, keepdim=True)
        if self.cfg.equivariant:
            along = (cond.rij * rp).sum(-1, keepdim=True) / cond.rij.norm(dim=-1, keepdim=True).clamp_min(1e-6)
            feats = torch.cat([norm, along], -1)
            x = cond.edge_static + nn.functional.linear(feats, first.weight[:, 1:3])
            if cond.torsion_edges is not None:
                if z is None:
                    raise ValueError("the torsion features need the noisy displacement z")
                after = self.cfg.position_scale * cond.r + z  # [n, 3] the noisy next structure, b-scaled
                x = x + self._on_torsion_edges(dihedral_cos_sin(after, cond.torsions), first.weight[:, 5:7],
                                               cond.torsion_edges, len(rp))  # fmt: skip
        else:
            x = cond.edge_static + nn.functional.linear(torch.cat([rp, norm], -1), first.weight[:, 4:])
        return self.edge_enc.norm(self.edge_enc.net[2](self.edge_enc.net[1](x)))

    def forward(
        self,
        z: torch.Tensor,
        tau: torch.Tensor,
        r: torch.Tensor,
        types: torch.Tensor,
        batch: torch.Tensor,
        edge_index: torch.Tensor | None = None,
        torsions: torch.Tensor | None = None,
        sides: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.denoise(z, tau, self.condition(r, types, batch, edge_index, torsions, sides))

    def denoise(self, z: torch.Tensor, tau: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        """Predicted noise [n, 3] of z [n, 3] at diffusion times tau: [G], or 0-d when all structures share it."""
        time = self.node_time(self.rff(tau.reshape(-1)))  # [G or 1, w]
        h = cond.h_type + (time[cond.batch] if tau.dim() else time)
        seen = self.scaled_input(z, tau, cond) if self.cfg.input_scaling else z
        rp = self.after_edges(seen, cond)
        e = self.encode_edges(rp, cond, seen)
        for edge_block, node_block in zip(self.edges, self.nodes, strict=True):
            e = edge_block(e, h, cond.edge_index)
            h = node_block(h, e, cond.edge_index)
        if self.cfg.equivariant:
            out = self.decoder(e, h, cond.edge_index, cond.rij, rp)
            if self.torsion_head is not None:
                out = out + self.torsion_head(e, h, cond.edge_index, cond)
            out = out - scatter(out, cond.batch, dim=0, dim_size=cond.n_graphs, reduce="mean")[cond.batch]
        else:
            out = self.decoder(h)
        if self.cfg.skip_var > 0:
            exact, scale = self.gaussian_skip(z, tau, cond)
            out = exact + scale * out
        return out

    def gaussian_skip(
        self, z: torch.Tensor, tau: torch.Tensor, cond: Conditioning
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact noise prediction [n, 3] for Gaussian displacements, and the residual's scale [n, 1].

        A structure of N atoms has N - 1 centroid-free modes per coordinate, each with
        data variance v N / (N - 1) and unit noise variance, and one centroid mode whose
        noise variance is 1 / N: hence the factors of N below.
        """
        alpha2, sigma2 = self._alpha2_sigma2(tau, cond)
        centroid = scatter(z, cond.batch, dim=0, dim_size=cond.n_graphs, reduce="mean")[cond.batch]  # [n, 3]
        v = centroid_free_variance(self.cfg.skip_var, cond.counts)
        vc = self.cfg.skip_var_centroid * cond.counts
        sigma = sigma2.sqrt()
        free = z - centroid if cond.mean is None else z - centroid - alpha2.sqrt() * cond.mean
        exact = sigma * (free / (alpha2 * v + sigma2) + centroid / (alpha2 * vc + sigma2))
        return exact, torch.sqrt(residual_variance(alpha2, sigma2, v))

    def scaled_input(self, z: torch.Tensor, tau: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        r"""The Gaussian posterior mean of b z given z_tau [n, 3], which the network reads with
        ``input_scaling``: :math:`\alpha_\tau v' z_\tau / (\alpha_\tau^2 v' + \sigma_\tau^2)`.

        At low noise it is :math:`z_\tau/\alpha_\tau \to b z`, so the after edges are still the
        next frame's bonds; at high noise it goes to zero, so the network sees the conditioning
        structure alone where its output is the mean move, instead of edges swamped by unit
        noise (the input scaling c_in of Karras et al. 2022, written for this skip).
        """
        alpha2, sigma2 = self._alpha2_sigma2(tau, cond)
        v = centroid_free_variance(self.cfg.skip_var, cond.counts)
        return z * (alpha2.sqrt() * v / (alpha2 * v + sigma2))

    def _alpha2_sigma2(self, tau: torch.Tensor, cond: Conditioning) -> tuple[torch.Tensor, torch.Tensor]:
        """alpha_tau^2 and sigma_tau^2, [n, 1] for per-structure tau [G], else 0-d."""
        alpha2, sigma2 = self.schedule.alpha(tau) ** 2, self.schedule.sigma(tau) ** 2
        if tau.dim():
            alpha2, sigma2 = alpha2[cond.batch, None], sigma2[cond.batch, None]  # [n, 1]
        return alpha2, sigma2

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.LayerNorm)):
                m.reset_parameters()
        for head in (self.decoder, self.torsion_head):
            if isinstance(head, ZeroPairMLP):
                head.reset_parameters()
        self._zero_mean()

    def _zero_mean(self) -> None:
        """No mean move at the start: the plain zero-mean skip."""
        if self.mean_head is not None:
            nn.init.zeros_(self.mean_head[-1].weight)
            nn.init.zeros_(self.mean_head[-1].bias)


def create_model(
    cfg: NetworkConfig,
    schedule: VPSchedule | None = None,
    weights: dict[str, torch.Tensor] | None = None,
    device: torch.device | str = "cpu",
) -> ScoreNetwork:
    """The one place a :class:`ScoreNetwork` is built: for training (fresh weights), and for
    validation and rollouts (``weights``: a state dict, e.g. the EMA's or a model file's).

    Raises
    ------
    RuntimeError
        When ``weights`` do not fit ``cfg`` (torch's message).
    """
    net = ScoreNetwork(cfg, schedule)
    if weights is not None:
        net.load_state_dict(weights)
    return net.to(device)
