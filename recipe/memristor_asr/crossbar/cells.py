"""Vectorised PyTorch Synaptogen cells: creation, cycle-to-cycle process, programming, reads.

Mirrors the API of the ``synaptogen`` package (``CellArrayCPU``, ``applyVoltage``, ``Iread``,
``I``) as :class:`Cells` with ``apply_voltage``, ``read``, ``read_mean``; device from the
``device`` argument, randomness from seeded ``torch.Generator`` objects (one per *segment*, so
a batch of independently seeded crossbar tiles can be simulated in one set of tensor ops and
each tile still gets the same cells whatever batch it is simulated in).

Model (Hennen et al., IEEE TED 2024), per cell:
- device-to-device constants ``(mu, sigma)`` [8] drawn once from a Gaussian mixture;
- a VAR(p) process of standard-normal feature vectors; the latest one ``x`` gives the cycle
  vector ``y = mu + sigma * gamma(x)`` with ``y = [HRS (as log10), U_SET, LRS, U_RESET]``;
- state ``r`` with current ``I(U; r) = (1 - r) P_LLRS(U) + r P_HHRS(U)``.

Programming (``apply_voltage``), as Synaptogen's ``applyVoltage``:
- ``U <= U_SET`` on a cell not in LRS: SET to the cycle's LRS; the reset threshold becomes the
  cycle's ``U_RESET``;
- ``U > threshold`` on a cell not in HRS: RESET; the first RESET after a SET starts a new cycle
  (new VAR draw). At ``U >= Umax`` the cell goes fully to the new cycle's HRS, below it only
  partially, along ``I(U) = a |Umax - U|^eta + c`` through ``(threshold, I(threshold))`` and
  ``(Umax, I_HRS(Umax))``; the threshold becomes ``U`` (a deeper RESET needs a higher voltage).

Deliberate differences from the synaptogen 0.2.0 package (both are quirks of the package, not of
the model; neither affects SET / full-RESET programming or reads):
- a fresh cell counts as being in its initial HRS, so a RESET pulse does nothing to it
  (the package lets a partial RESET act on a never-set cell with uninitialised coefficients);
- the reset threshold is a per-cell value of its own (in the package it aliases the cycle
  vector of a fresh cell until the array's first VAR draw, so a RESET on a fresh cell
  overwrites that cell's ``U_RESET``).
"""
from typing import Optional, Sequence, Union

import numpy as np
import torch

from memristor_asr.crossbar.iv import synaptogen_iv
from memristor_asr.crossbar.noise import cell_read, read_noise_model
from memristor_asr.crossbar.params import I_HRS, I_LRS, I_URESET, I_USET, SynaptogenParams, load_synaptogen_params

__all__ = ["Cells"]

Volts = Union[float, np.ndarray, torch.Tensor]


class Cells:
    """An array of ``n`` independent Synaptogen cells (flat; crossbars reshape it).

    :param n: number of cells
    :param seed: seed of the cells' random draws (None: a random seed)
    :param device: torch device of the state tensors
    :param params: Synaptogen parameters (default: the package's ``default_params.json``)

    Attributes (tensors of length n): ``r`` (state), ``y`` ([n, 4] current cycle vector),
    ``in_hrs``, ``in_lrs``, ``u_reset_threshold``, ``cycle`` (number of completed cycles).
    """

    def __init__(self, n: int, seed: Optional[int] = None, *, device: Union[str, torch.device] = "cpu",
                 params: Optional[SynaptogenParams] = None):
        self._init_segments([n], [seed], device, params)

    @classmethod
    def from_segments(cls, sizes: Sequence[int], seeds: Sequence[int], *, device: Union[str, torch.device] = "cpu",
                      params: Optional[SynaptogenParams] = None) -> "Cells":
        """Concatenated cell groups, group ``k`` with ``sizes[k]`` cells drawn from ``seeds[k]``:
        group k's cells equal ``Cells(sizes[k], seeds[k])`` under the same voltages."""
        self = cls.__new__(cls)
        self._init_segments(list(sizes), list(seeds), device, params)
        return self

    # ------------------------------------------------------------------------------ creation
    def _init_segments(self, sizes, seeds, device, params):
        if len(sizes) != len(seeds) or any(int(s) < 0 for s in sizes):
            raise ValueError(f"Cells: need one non-negative size per seed, got sizes={sizes}, seeds={seeds}")
        self.device = torch.device(device)
        self.params = params or load_synaptogen_params()
        self.iv = synaptogen_iv(self.params)
        self._sizes = [int(s) for s in sizes]
        self._gens = []
        for s in seeds:
            g = torch.Generator(device=self.device)
            if s is None:
                g.seed()
            else:
                g.manual_seed(int(s) & 0xFFFF_FFFF_FFFF_FFFF)
            self._gens.append(g)
        self.n = sum(self._sizes)
        p, dev, f32 = self.params, self.device, torch.float32
        nf = p.n_features
        self._var_eps = torch.as_tensor(p.var_eps, dtype=f32, device=dev)  # [4, 4]
        self._var_hist = torch.as_tensor(p.var_hist, dtype=f32, device=dev)  # [4, 4p]
        self._gamma = torch.as_tensor(p.gamma, dtype=f32, device=dev)  # [4, deg+1]

        eps = self._randn(nf)  # [n, 4]
        x = eps @ self._var_eps.T  # [n, 4] first cycle: no history yet
        self._x0 = x
        self._hist: Optional[torch.Tensor] = None  # [n, 4p] oldest first; built at the first cycle draw
        # device-to-device constants: mixture component, then mu/sigma from its Gaussian
        cum = torch.as_tensor(np.cumsum(p.wk), dtype=f32, device=dev)
        k = torch.searchsorted(cum, self._rand().unsqueeze(1)).squeeze(1).clamp_(max=len(p.wk) - 1)  # [n]
        z = self._randn(2 * nf)  # [n, 8]
        l_all = torch.as_tensor(p.l_dtd, dtype=f32, device=dev).reshape(-1, 2 * nf)  # [K * 8, 8]
        comps = (z @ l_all.T).view(self.n, len(p.wk), 2 * nf)  # [n, K, 8]: every component's draw
        mu_dtd = torch.as_tensor(p.mu_dtd, dtype=f32, device=dev)  # [K, 8]
        mu_sigma = comps.gather(1, k.view(-1, 1, 1).expand(-1, 1, 2 * nf)).squeeze(1) + mu_dtd[k]  # [n, 8]
        self.mu, self.sigma = mu_sigma[:, :nf].contiguous(), mu_sigma[:, nf:].contiguous()
        self.y = self._cycle_vector(x)  # [n, 4]
        self.r = self._r_of_resistance(self.y[:, I_HRS])  # fresh cells start in their initial HRS
        self.in_hrs = torch.ones(self.n, dtype=torch.bool, device=dev)
        self.in_lrs = torch.zeros(self.n, dtype=torch.bool, device=dev)
        self.u_reset_threshold = self.y[:, I_URESET].clone()
        self.reset_a = torch.zeros(self.n, dtype=f32, device=dev)  # partial-RESET curve I = a|Umax-U|^eta + c
        self.reset_c = torch.zeros(self.n, dtype=f32, device=dev)
        self.cycle = torch.zeros(self.n, dtype=torch.int64, device=dev)

    def _randn(self, cols: int) -> torch.Tensor:
        out = torch.empty(self.n, cols, device=self.device)
        start = 0
        for size, g in zip(self._sizes, self._gens):  # each segment from its own generator
            out[start:start + size].normal_(generator=g)
            start += size
        return out

    def _rand(self) -> torch.Tensor:
        out = torch.empty(self.n, device=self.device)
        start = 0
        for size, g in zip(self._sizes, self._gens):
            out[start:start + size].uniform_(generator=g)
            start += size
        return out

    def uniform(self, low: float, high: float) -> torch.Tensor:
        """One uniform random voltage per cell from the cells' own generators (for cycling)."""
        return low + (high - low) * self._rand()

    def _cycle_vector(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.zeros_like(x)
        for j in range(self._gamma.shape[1]):  # per-feature polynomial, highest degree first
            g = g * x + self._gamma[:, j]
        y = self.mu + self.sigma * g
        return torch.cat([10.0 ** y[:, :1], y[:, 1:]], dim=1)

    def _r_of_resistance(self, resistance: torch.Tensor) -> torch.Tensor:
        p = self.params
        return (p.g_llrs - 1.0 / resistance) / (p.g_llrs - p.g_hhrs)

    def __len__(self) -> int:
        return self.n

    # ------------------------------------------------------------------------------ accessors
    @property
    def hrs(self) -> torch.Tensor:
        """The current cycle's high resistance [Ohm]."""
        return self.y[:, I_HRS]

    @property
    def lrs(self) -> torch.Tensor:
        """The current cycle's low resistance [Ohm]."""
        return self.y[:, I_LRS]

    @property
    def u_set(self) -> torch.Tensor:
        """The current cycle's SET threshold [V] (negative)."""
        return self.y[:, I_USET]

    @property
    def u_reset(self) -> torch.Tensor:
        """The current cycle's RESET threshold [V]."""
        return self.y[:, I_URESET]

    def resistance(self) -> torch.Tensor:
        """Resistance at U0 = 0.2 V of the present state, ``U0 / I(U0)`` [Ohm]."""
        u0 = self.params.u0
        return u0 / self.iv.current(torch.full_like(self.r, u0), self.r)

    # ------------------------------------------------------------------------------ programming
    def _volts(self, volts: Volts) -> torch.Tensor:
        u = torch.as_tensor(volts, dtype=torch.float32, device=self.device)
        if u.dim() == 0:
            return u.expand(self.n)
        if u.shape != (self.n,):
            raise ValueError(f"Cells: expected one voltage per cell ({self.n}), got shape {tuple(u.shape)}")
        return u

    @torch.no_grad()
    def apply_voltage(self, volts: Volts) -> "Cells":
        """Apply a programming pulse (one voltage per cell, or one for all) [V]; returns self."""
        u = self._volts(volts)
        p = self.params
        set_mask = ~self.in_lrs & (u <= self.u_set)
        reset_mask = ~self.in_hrs & (u > self.u_reset_threshold)
        full_mask = reset_mask & (u >= p.u_max)
        partial_mask = reset_mask & (u < p.u_max)
        new_cycle = self.in_lrs & reset_mask
        coef_mask = new_cycle & ~full_mask

        if set_mask.any():
            self.r = torch.where(set_mask, self._r_of_resistance(self.lrs), self.r)
            self.in_lrs |= set_mask
            self.in_hrs &= ~set_mask
            self.u_reset_threshold = torch.where(set_mask, self.u_reset, self.u_reset_threshold)
        if new_cycle.any():
            self._draw_cycle(new_cycle)
        if coef_mask.any():
            x1 = self.u_reset_threshold
            y1 = self.iv.current(x1, self.r)
            y2 = self.iv.current(torch.full_like(x1, p.u_max), self._r_of_resistance(self.hrs))
            a = (y1 - y2) / (p.u_max - x1).abs() ** p.eta
            self.reset_a = torch.where(coef_mask, a, self.reset_a)
            self.reset_c = torch.where(coef_mask, y2, self.reset_c)
        if reset_mask.any():
            self.in_lrs &= ~reset_mask
            self.u_reset_threshold = torch.where(reset_mask, u, self.u_reset_threshold)
        if partial_mask.any():
            i_trans = self.reset_a * (p.u_max - u).abs() ** p.eta + self.reset_c
            low, diff = self.iv.low_current(u), self.iv.diff_current(u)
            self.r = torch.where(partial_mask, (i_trans - low) / diff, self.r)
        if full_mask.any():
            self.in_hrs |= full_mask
            self.r = torch.where(full_mask, self._r_of_resistance(self.hrs), self.r)
        return self

    @property
    def hist(self) -> torch.Tensor:
        """[n, 4p] VAR history (standard-normal feature vectors), oldest cycle first."""
        if self._hist is None:
            nf = self.params.n_features
            self._hist = torch.zeros(self.n, nf * self.params.var_order, device=self.device)
            self._hist[:, -nf:] = self._x0
        return self._hist

    def _draw_cycle(self, mask: torch.Tensor) -> None:
        nf = self.params.n_features
        hist = self.hist
        eps = self._randn(nf)  # drawn for every cell so each segment's stream is mask-independent
        x = eps @ self._var_eps.T + hist @ self._var_hist.T  # [n, 4]
        shifted = torch.cat([hist[:, nf:], x], dim=1)
        m = mask.unsqueeze(1)
        self._hist = torch.where(m, shifted, hist)
        self.y = torch.where(m, self._cycle_vector(x), self.y)
        self.cycle += mask

    # ------------------------------------------------------------------------------ reads
    @torch.no_grad()
    def read_mean(self, volts: Volts) -> torch.Tensor:
        """Noise-free currents ``I(U; r)`` [A]; reads never change the state."""
        return self.iv.current(self._volts(volts), self.r)

    @torch.no_grad()
    def read(self, volts: Volts, noise: str = "physical", generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Noisy currents [A] (Johnson + shot noise, :mod:`memristor_asr.crossbar.noise`).

        :param noise: "physical" (default), "paper" (SynaptogenML's constants) or "off"
        :param generator: noise generator (default: the cells' own, first segment's)
        """
        model = read_noise_model(noise)
        return cell_read(self._volts(volts), self.r, self.iv, model, generator or self._gens[0])

    def __repr__(self) -> str:
        return f"Cells(n={self.n}, device={self.device}, in_lrs={int(self.in_lrs.sum())})"
