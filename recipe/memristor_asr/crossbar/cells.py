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

Speed (programming is dominated by the random draws; the default procedure, without cycling, is
bit-identical to the earlier full-array implementation): every segment draws its creation numbers
in one pass (innovation [4], mixture uniform, mixture normals [8]: the same order and stream as
before); the creation arithmetic runs in row blocks on reused scratch memory (fresh large tensors
cost page faults that outweighed the arithmetic); the Gaussian mixture stays one product for all
components (a product per component rounds differently) with the chosen component picked by
``index_select``; row constants are pre-tiled so elementwise ops are not slow broadcasts;
``apply_voltage`` skips what a pulse cannot change (no RESET work while every cell is still in
HRS) and updates sparse masks on their rows only (gathered rows give the same floats: the one
transcendental op, ``|Umax - U|^eta``, still runs on the full array so ``pow`` takes the same
vectorised/scalar code path per element as before). BLAS products over fewer than 16 rows take
another code path with other rounding, so row blocks never get that small.

Cycle draws (a RESET after a SET) touch only the cells that start a cycle: one numba loop over
their rows (:func:`_cycle_kernel`, in place on the CPU state; other devices go through CPU
copies) draws 4 counter-based normals per cell, keyed by (segment seed, cell index within the
segment, the cell's cycle number), does the VAR step, shifts the history row and computes the
cycle vector, in scalar float32 arithmetic. A cell's cycle ``k`` is therefore the same whatever batch
its segment is in and whichever other cells cycle with it, so a tile's cells equal
``Cells(size, seed)`` under the same voltages. (Until this change, cycle innovations were
full-array draws from the segment generators; the cycled random stream changed with it, the
default procedure's did not.) Limits: < 2^22 cells per segment, < 2^8 cycles per cell (clear
errors).
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
        self._starts = np.concatenate([[0], np.cumsum(self._sizes)]).astype(np.int64).tolist()
        self._gens = []
        for s in seeds:
            g = torch.Generator(device=self.device)
            if s is None:
                g.seed()
            else:
                g.manual_seed(int(s) & 0xFFFF_FFFF_FFFF_FFFF)
            self._gens.append(g)
        self.n = n = sum(self._sizes)
        p, dev = self.params, self.device
        nf, n_k = p.n_features, len(p.wk)
        consts = _constants(p, dev)
        self._var_eps, self._var_hist, self._gamma = consts["var_eps"], consts["var_hist"], consts["gamma"]
        self._gamma_cols = consts["gamma_cols"]

        # every segment's creation draws, in the order (innovation, component, mixture normals),
        # into reused workspace (fresh large tensors cost page faults that outweigh the arithmetic)
        eps = _work("eps", n * nf, dev).view(n, nf)  # [n, 4]
        u = _work("u", n, dev)  # [n]
        z = _work("z", n * 2 * nf, dev).view(n, 2 * nf)  # [n, 8]
        for (a, b), g in zip(self._segment_bounds(), self._gens):
            if b > a:
                eps[a:b].normal_(generator=g)
                u[a:b].uniform_(generator=g)
                z[a:b].normal_(generator=g)
        self._x0 = torch.empty(n, nf, device=dev)  # [n, 4] first cycle: no history yet
        self._hist: Optional[torch.Tensor] = None  # [n, 4p] oldest first; built at the first cycle draw
        mu_sigma = torch.empty(n, 2 * nf, device=dev)  # [n, 8]; mu and sigma are its halves (views)
        self.y = torch.empty(n, nf, device=dev)
        cum = consts["cum_wk"]
        comps_buf = _work("comps", _BLOCK_ROWS * n_k * 2 * nf, dev)
        offsets = consts["k_offsets"]  # [B]: 0, K, 2K, ...
        for a, b in _blocks(n):
            m = b - a
            torch.matmul(eps[a:b], self._var_eps.T, out=self._x0[a:b])
            # mixture component k = #{cumulative weights < u} (= searchsorted, clamped to K - 1)
            k = (u[a:b] > cum[0]).to(torch.int64)  # [m]
            for j in range(1, n_k - 1):
                k += u[a:b] > cum[j]
            # every component's draw (one product, as the reference layout), plus its mean, then
            # the chosen component's 8 values per cell
            comps = torch.matmul(z[a:b], consts["l_all_t"], out=comps_buf[: m * n_k * 2 * nf].view(m, n_k * 2 * nf))
            comps.add_(consts["mu_dtd_rows"][:m])
            k += offsets[:m]
            torch.index_select(comps.view(m * n_k, 2 * nf), 0, k, out=mu_sigma[a:b])
        self._mu_sigma = mu_sigma
        self.mu, self.sigma = mu_sigma[:, :nf], mu_sigma[:, nf:]  # [n, 4] each
        self._cycle_vector(self._x0, self.mu, self.sigma, out=self.y)  # [n, 4]
        self.r = self._r_of_resistance(self.y[:, I_HRS])  # fresh cells start in their initial HRS
        self.in_hrs = torch.ones(n, dtype=torch.bool, device=dev)
        self.in_lrs = torch.zeros(n, dtype=torch.bool, device=dev)
        self.u_reset_threshold = self.y[:, I_URESET].clone()
        self._reset_a: Optional[torch.Tensor] = None  # partial-RESET curve I = a|Umax-U|^eta + c
        self._reset_c: Optional[torch.Tensor] = None
        self._cycle: Optional[torch.Tensor] = None  # allocated at the first cycle draw
        self._all_hrs = True  # no cell has left HRS yet: a RESET pulse provably does nothing
        self._no_lrs = True  # no cell is in LRS

    def _segment_bounds(self):
        return zip(self._starts[:-1], self._starts[1:])

    def _randn(self, cols: int, segments: Optional[Sequence[int]] = None,
               scratch: Optional[str] = None) -> torch.Tensor:
        """[n, cols] standard normals, each segment from its own generator (segments not listed
        draw nothing and stay uninitialised); into reused scratch memory if ``scratch`` names it."""
        out = torch.empty(self.n, cols, device=self.device) if scratch is None else \
            _work(scratch, self.n * cols, self.device).view(self.n, cols)
        bounds = list(self._segment_bounds())
        for i in (range(len(bounds)) if segments is None else segments):
            a, b = bounds[i]
            if b > a:
                out[a:b].normal_(generator=self._gens[i])
        return out

    def _rand(self) -> torch.Tensor:
        out = torch.empty(self.n, device=self.device)
        for (a, b), g in zip(self._segment_bounds(), self._gens):
            if b > a:
                out[a:b].uniform_(generator=g)
        return out

    def uniform(self, low: float, high: float) -> torch.Tensor:
        """One uniform random voltage per cell from the cells' own generators (for cycling)."""
        return low + (high - low) * self._rand()

    def group_uniform(self, low: float, high: float, groups_per_segment: int = 1) -> torch.Tensor:
        """One uniform random voltage per *group* of cells, broadcast to its cells [n].

        Each segment is cut into ``groups_per_segment`` equal contiguous groups (e.g. 2: the
        positive and the negative bitline array of a crossbar tile); every group gets one value,
        drawn in group order from its segment's generator. This is how a whole physical array
        receives the same pulse."""
        if groups_per_segment < 1 or any(s % groups_per_segment for s in self._sizes):
            raise ValueError(f"Cells.group_uniform: segment sizes {self._sizes} are not divisible into "
                             f"{groups_per_segment} equal groups")
        out = torch.empty(self.n, device=self.device)
        vals = torch.empty(groups_per_segment, device=self.device)
        for (a, b), g in zip(self._segment_bounds(), self._gens):
            if b == a:
                continue
            vals.uniform_(generator=g)
            vals.mul_(high - low).add_(low)
            out[a:b].view(groups_per_segment, -1).copy_(vals.unsqueeze(1))
        return out

    def _cycle_vector(self, x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor,
                      out: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``[10^(mu + sigma gamma(x))_HRS, (mu + sigma gamma(x))_rest]`` [m, 4] (x is not changed)."""
        m = x.shape[0]
        out = torch.empty_like(x) if out is None else out
        cols = _constants(self.params, self.device)["gamma_rows"]  # per-feature polynomial, highest degree first
        direct = out.data_ptr() != x.data_ptr() and out.is_contiguous()  # else via scratch (out may be x)
        g_buf = None if direct else _work("gamma", _BLOCK_ROWS * x.shape[1], self.device)
        for a, b in _blocks(m):
            xb = x[a:b]
            dst = out[a:b] if direct else g_buf[: (b - a) * x.shape[1]].view(b - a, -1)
            g = torch.mul(xb, cols[0][: b - a], out=dst)
            g += cols[1][: b - a]
            for c in cols[2:]:
                g.mul_(xb).add_(c[: b - a])
            g.mul_(sigma[a:b]).add_(mu[a:b])
            if not direct:
                out[a:b] = g
            out[a:b, 0] = torch.pow(10.0, g[:, 0])  # strided column: the same kernel path as before
        return out

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

    @property
    def cycle(self) -> torch.Tensor:
        """[n] int64: number of completed cycles (VAR draws after the initial one) per cell."""
        if self._cycle is None:
            self._cycle = torch.zeros(self.n, dtype=torch.int64, device=self.device)
        return self._cycle

    @cycle.setter
    def cycle(self, value: torch.Tensor) -> None:
        self._cycle = value

    @property
    def reset_a(self) -> torch.Tensor:
        """[n] coefficient a of the partial-RESET curve ``I = a |Umax - U|^eta + c`` (0 until set)."""
        if self._reset_a is None:
            self._reset_a = torch.zeros(self.n, device=self.device)
        return self._reset_a

    @property
    def reset_c(self) -> torch.Tensor:
        """[n] offset c of the partial-RESET curve (0 until set)."""
        if self._reset_c is None:
            self._reset_c = torch.zeros(self.n, device=self.device)
        return self._reset_c

    def lrs_state(self) -> torch.Tensor:
        """[n] the state ``r`` a SET writes: the current cycle's LRS."""
        return self._r_of_resistance(self.lrs)

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

    @staticmethod
    def _rows(mask: torch.Tensor, count: int, n: int) -> Optional[torch.Tensor]:
        """Row indices of ``mask``; None: all rows, or so many that full-array ops are cheaper."""
        return None if count * _DENSE_FRACTION >= n else mask.nonzero().squeeze(1)

    @torch.no_grad()
    def apply_voltage(self, volts: Volts) -> "Cells":
        """Apply a programming pulse (one voltage per cell, or one for all) [V]; returns self."""
        u = self._volts(volts)
        p, n = self.params, self.n
        set_mask = (u <= self.u_set) if self._no_lrs else (~self.in_lrs & (u <= self.u_set))
        if self._all_hrs:  # no cell can be reset
            n_reset = 0
        else:
            reset_mask = ~self.in_hrs & (u > self.u_reset_threshold)
            n_reset = int(torch.count_nonzero(reset_mask))
        if n_reset:
            new_cycle = self.in_lrs & reset_mask
            full_mask = reset_mask & (u >= p.u_max)
            n_new, n_full = int(torch.count_nonzero(new_cycle)), int(torch.count_nonzero(full_mask))
        n_set = int(torch.count_nonzero(set_mask)) if bool(set_mask.any()) else 0

        if n_set:
            rows = self._rows(set_mask, n_set, n)
            if rows is None:
                self.r = _put(self.r, set_mask, n_set, self._r_of_resistance(self.lrs))
                self.u_reset_threshold = _put(self.u_reset_threshold, set_mask, n_set, self.u_reset.clone())
            else:
                self.r.index_copy_(0, rows, self._r_of_resistance(self.lrs.index_select(0, rows)))
                self.u_reset_threshold.index_copy_(0, rows, self.u_reset.index_select(0, rows))
            self.in_lrs |= set_mask
            self.in_hrs &= ~set_mask
            self._all_hrs = self._no_lrs = False
        if not n_reset:
            return self
        if n_new:
            self._draw_cycle(new_cycle, n_new)
            coef_mask = new_cycle & ~full_mask
            n_coef = int(torch.count_nonzero(coef_mask))
            if n_coef:
                self._reset_coefficients(coef_mask, n_coef)
        self.in_lrs &= ~reset_mask
        self._no_lrs = False  # (cells set in earlier pulses may still be in LRS)
        if n_full < n_reset:
            partial = reset_mask & ~full_mask
            rows = self._rows(partial, n_reset - n_full, n)
            pw = (p.u_max - u).abs() ** p.eta  # full array: see the module docstring
            u_r = u if rows is None else u.index_select(0, rows)
            pw_r = pw if rows is None else pw.index_select(0, rows)
            a = self.reset_a if rows is None else self.reset_a.index_select(0, rows)
            c = self.reset_c if rows is None else self.reset_c.index_select(0, rows)
            i_trans = a * pw_r + c
            r_new = (i_trans - self.iv.low_current(u_r)) / self.iv.diff_current(u_r)
            if rows is None:
                self.r = _put(self.r, partial, n_reset - n_full, r_new)
            else:
                self.r.index_copy_(0, rows, r_new)
        self.u_reset_threshold = torch.where(reset_mask, u, self.u_reset_threshold)
        if n_full:
            rows = self._rows(full_mask, n_full, n)
            self.in_hrs |= full_mask
            if rows is None:
                self.r = _put(self.r, full_mask, n_full, self._r_of_resistance(self.hrs))
            else:
                self.r.index_copy_(0, rows, self._r_of_resistance(self.hrs.index_select(0, rows)))
        return self

    def _reset_coefficients(self, mask: torch.Tensor, count: int) -> None:
        """Partial-RESET curve through ``(threshold, I(threshold))`` and ``(Umax, I_HRS(Umax))``
        for the cells of ``mask`` (just starting a new cycle)."""
        p = self.params
        x1 = self.u_reset_threshold
        pw = (p.u_max - x1).abs() ** p.eta  # full array: see the module docstring
        rows = self._rows(mask, count, self.n)
        if rows is not None:
            x1, pw = x1.index_select(0, rows), pw.index_select(0, rows)
        r = self.r if rows is None else self.r.index_select(0, rows)
        hrs = self.hrs if rows is None else self.hrs.index_select(0, rows)
        y1 = self.iv.current(x1, r)
        y2 = self.iv.current(torch.full_like(x1, p.u_max), self._r_of_resistance(hrs))
        a = (y1 - y2) / pw
        if rows is None:
            self._reset_a = _put(self.reset_a, mask, count, a)
            self._reset_c = _put(self.reset_c, mask, count, y2)
        else:
            self.reset_a.index_copy_(0, rows, a)
            self.reset_c.index_copy_(0, rows, y2)

    @property
    def hist(self) -> torch.Tensor:
        """[n, 4p] VAR history (standard-normal feature vectors), oldest cycle first."""
        if self._hist is None:
            nf = self.params.n_features
            self._hist = torch.zeros(self.n, nf * self.params.var_order, device=self.device)
            self._hist[:, -nf:] = self._x0
        return self._hist

    def _draw_cycle(self, mask: torch.Tensor, count: Optional[int] = None) -> None:
        """Start a new cycle (VAR draw) for the cells of ``mask``, touching only those cells.

        The innovations are counter-based (:func:`_cycle_kernel`): cell ``i`` of segment ``s`` in
        its cycle ``c`` always gets the same 4 normals, keyed by (segment seed, i, c), whatever
        batch the segment is in and whichever other cells start a cycle; all per-cell arithmetic
        runs in one scalar loop, so no BLAS path or vector width depends on the batch."""
        rows = mask.nonzero().squeeze(1)  # [m] ascending
        if rows.numel() == 0:
            return
        if max(self._sizes) > _MAX_SEGMENT_CELLS:
            raise ValueError(f"Cells: cycle draws are keyed by the cell index within its segment, which must be "
                             f"< {_MAX_SEGMENT_CELLS} (2^22); got a segment of {max(self._sizes)} cells")
        hist, cycle = self.hist, self.cycle
        cpu = self.device.type == "cpu"
        # the kernel works in place on CPU arrays (elsewhere: on CPU copies, written back)
        arrays = [t if cpu else t.cpu() for t in (hist, self._mu_sigma, self.y, cycle)]
        c = _constants(self.params, self.device)
        top = _cycle_kernel()(rows.cpu().numpy(), np.asarray(self._starts, np.int64),
                              self._cycle_keys().numpy().view(np.uint64), *(t.numpy() for t in arrays),
                              c["var_eps_t_np"], c["var_hist_t_np"], c["gamma_np"], _MAX_CYCLES)
        if top >= _MAX_CYCLES:
            raise ValueError(f"Cells: counter-based cycle draws support at most {_MAX_CYCLES} cycles per cell "
                             f"(2^8); a cell is starting cycle {top + 1}")
        if not cpu:
            for dst, src in zip((hist, self._mu_sigma, self.y, cycle), arrays):
                dst.copy_(src)

    def _cycle_keys(self) -> torch.Tensor:
        """[S] int64: each segment's 64-bit key of its counter-based cycle draws (from its seed)."""
        if getattr(self, "_keys", None) is None:
            m64 = 0xFFFF_FFFF_FFFF_FFFF
            keys = []
            for g in self._gens:
                z = (int(g.initial_seed()) + 0x9E37_79B9_7F4A_7C15) & m64  # splitmix64 finaliser
                z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) & m64
                z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & m64
                z ^= z >> 31
                keys.append(z - (1 << 64) if z >= 1 << 63 else z)
            self._keys = torch.tensor(keys, dtype=torch.int64)
        return self._keys

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


def _constants(p: SynaptogenParams, device: torch.device) -> dict:
    """float32 model constants on ``device``, cached per parameter set and device."""
    key = (id(p), str(device))
    c = _CONSTANTS.get(key)
    if c is None or c["params"] is not p:
        f32, nf = torch.float32, p.n_features
        gamma = torch.as_tensor(p.gamma, dtype=f32, device=device)  # [4, deg+1]
        c = {
            "params": p,
            "var_eps": torch.as_tensor(p.var_eps, dtype=f32, device=device),  # [4, 4]
            "var_hist": torch.as_tensor(p.var_hist, dtype=f32, device=device),  # [4, 4p]
            "gamma": gamma,
            "gamma_cols": [gamma[:, j].contiguous() for j in range(gamma.shape[1])],
            "cum_wk": torch.as_tensor(np.cumsum(p.wk), dtype=f32, device=device).tolist(),
            # [8, K * 8]: the transposed view of [K * 8, 8], as the reference product used it
            "l_all_t": torch.as_tensor(p.l_dtd, dtype=f32, device=device).reshape(-1, 2 * nf).T,
            "mu_dtd": torch.as_tensor(p.mu_dtd, dtype=f32, device=device),  # [K, 8]
        }
        # row constants tiled to a block: same-shape elementwise ops instead of slow broadcasts
        c["gamma_rows"] = [col.expand(_BLOCK_ROWS, nf).contiguous() for col in c["gamma_cols"]]  # [B, 4]
        c["mu_dtd_rows"] = c["mu_dtd"].reshape(1, -1).expand(_BLOCK_ROWS, -1).contiguous()  # [B, K * 8]
        c["var_eps_t_np"] = np.ascontiguousarray(c["var_eps"].cpu().numpy().T)  # [4, 4] for the cycle kernel
        c["var_hist_t_np"] = np.ascontiguousarray(c["var_hist"].cpu().numpy().T)  # [4p, 4]
        c["gamma_np"] = np.ascontiguousarray(gamma.cpu().numpy())  # [4, deg+1], highest degree first
        c["k_offsets"] = torch.arange(0, _BLOCK_ROWS * len(p.wk), len(p.wk), device=device)  # [B]
        _CONSTANTS[key] = c
    return c


_CONSTANTS: dict = {}

#: fewest rows of a gathered BLAS product: below it the library switches to a matrix-vector path
#: whose rounding differs from the full-array product (measured: 1-3 rows differ)
_MIN_GATHER_ROWS = 16

#: a mask with at least 1/_DENSE_FRACTION of the rows is applied with full-array ops (torch.where)
_DENSE_FRACTION = 8

#: rows per block of the creation arithmetic (temporaries stay in cache and are reused)
_BLOCK_ROWS = 32768

_WORK: dict = {}

#: counter-based cycle draws: cell index within its segment < 2^22, cycles per cell < 2^8 (with the
#: draw index 0..3 in the low 2 bits, distinct (cell, cycle, draw) triples are distinct 32-bit counters)
_MAX_SEGMENT_CELLS = 1 << 22
_MAX_CYCLES = 1 << 8
_CYCLE_KERNEL = None


def _cycle_kernel():
    """The numba loop of a cycle draw over the m cells that start a cycle (compiled once, cached).

    Per cell: 4 standard normals from counters ``ctr + 0..3`` under the cell's 64-bit segment key
    (the hash, 24-bit uniforms and Box-Muller of :mod:`memristor_asr.crossbar.fused_adc`), the
    VAR step ``x = var_eps eps + var_hist hist`` (float32, fixed summation order), the history
    shifted in place (oldest first), and the cycle vector ``y = mu + sigma gamma(x)`` with
    ``y_HRS = 10^y_HRS``."""
    global _CYCLE_KERNEL
    if _CYCLE_KERNEL is not None:
        return _CYCLE_KERNEL
    from memristor_asr.crossbar import fused_adc
    if not hasattr(fused_adc, "_hash"):
        raise RuntimeError("Cells: cycle draws (cycles_before_programming > 0, RESET after SET) need numba "
                           "(requirements.txt) and the fused kernels enabled (unset MEMRISTOR_ASR_NO_FUSED)")
    import math

    from numba import njit
    _hash, _logf, _sincos = fused_adc._hash, fused_adc._log, fused_adc._sincos_turns
    U, F = np.uint32, np.float32

    @njit(cache=True, fastmath=False)
    def kernel(rows, starts, keys, hist, ms, y, cycle, var_eps_t, var_hist_t, gamma, max_cycles):
        m = rows.shape[0]
        width = hist.shape[1]
        nf = y.shape[1]
        deg = gamma.shape[1]
        top = 0
        for i in range(m):  # check first: nothing changes when a cell would pass the limit
            top = max(top, cycle[rows[i]])
        if top >= max_cycles:
            return top
        eps = np.empty(4, np.float32)
        x = np.empty(nf, np.float32)
        seg = 0
        for i in range(m):
            row = rows[i]
            while row >= starts[seg + 1]:
                seg += 1
            key = keys[seg]
            k0 = U(key & np.uint64(0xFFFFFFFF))
            k1 = U(key >> np.uint64(32))
            ctr = U((U(row - starts[seg]) << U(10)) | (U(cycle[row]) << U(2)))  # 22 + 8 + 2 bits
            for p in range(2):
                c = U(ctr + U(2 * p))
                h1 = _hash(c, k0, k1)
                h2 = _hash(U(c + U(1)), k0, k1)
                u1 = (F(U(h1 >> U(8))) + F(1.0)) * F(5.960464477539063e-08)  # (0, 1]
                u2 = F(U(h2 >> U(8))) * F(5.960464477539063e-08)  # [0, 1)
                r = F(math.sqrt(F(-2.0) * _logf(u1)))
                s, co = _sincos(u2)
                eps[2 * p] = r * co
                eps[2 * p + 1] = r * s
            for f in range(nf):
                x[f] = F(0.0)
            for j in range(nf):  # x = var_eps eps + var_hist hist, each x[f] summed in a fixed order
                e = eps[j]
                for f in range(nf):
                    x[f] += var_eps_t[j, f] * e
            for k in range(width):
                h = hist[row, k]
                for f in range(nf):
                    x[f] += var_hist_t[k, f] * h
            for k in range(width - nf):
                hist[row, k] = hist[row, k + nf]
            for f in range(nf):
                hist[row, width - nf + f] = x[f]
                g = gamma[f, 0]
                for d in range(1, deg):
                    g = g * x[f] + gamma[f, d]
                v = ms[row, f] + ms[row, nf + f] * g
                y[row, f] = F(math.pow(F(10.0), v)) if f == 0 else v
            cycle[row] += 1
        return top

    _CYCLE_KERNEL = kernel
    return kernel


def _work(name: str, numel: int, device: torch.device) -> torch.Tensor:
    """A reused flat float32 scratch tensor of at least ``numel`` elements (first ``numel`` returned).
    Scratch contents never outlive the call that fills them."""
    key = (name, str(device))
    t = _WORK.get(key)
    if t is None or t.numel() < numel:
        t = torch.empty(max(numel, 1), device=device)
        _WORK[key] = t
    return t[:numel]


def _put(old: torch.Tensor, mask: torch.Tensor, count: int, new: torch.Tensor) -> torch.Tensor:
    """``new`` where ``mask`` (``count`` cells), else ``old``."""
    return new if count == mask.numel() else torch.where(mask, new, old)


def _blocks(n: int):
    """Row blocks of at most ``_BLOCK_ROWS``; the last one has at least ``_MIN_GATHER_ROWS`` rows
    (BLAS products over very few rows round differently), unless ``n`` itself is smaller."""
    starts = list(range(0, n, _BLOCK_ROWS))
    if len(starts) > 1 and n - starts[-1] < _MIN_GATHER_ROWS:
        starts[-1] = n - _MIN_GATHER_ROWS  # (the block before gives up those rows)
    ends = starts[1:] + [n]
    return list(zip(starts, ends)) if n else []
