"""``CrossbarLinearV1``: a QAT linear layer executed on simulated memristor crossbars.

Data flow of one forward (spec section 2):
``x -> DAC (codes, volts) -> per plane and row tile: column current (mean + read noise)
-> ADC (x c, round, clip; clipped outputs counted) -> sum row tiles -> x plane significance
-> x output factor s_w * s_a * q_max -> + bias``.

Fast path (:meth:`CrossbarLinearV1.forward`): since ``I(U; r)`` is linear in ``r`` and the
polynomials are shared, a column's mean current is ``sum_i D(V_i) (r_pos - r_neg)_ij`` with
``D = P_HHRS - P_LLRS`` and its read-noise variance ``sum_i 2 c_const(V_i) + c_r(V_i)
(r_pos + r_neg)_ij`` (:func:`~memristor_asr.crossbar.noise.column_variance_coefficients`): two
matrix products per row tile (fp32, over the tile's real rows only); one Gaussian draw per
column and row tile. Per-input polynomial values come from tables over the DAC's levels.
Nothing of size [frames, inputs, outputs] is formed.

On CPU with a uniform ADC the element-wise rest (noise, rounding, clipping, significance,
sum over row tiles) runs in one fused pass per row tile with counter-based noise
(:mod:`~memristor_asr.crossbar.fused_adc`): results do not depend on the thread count. Other
ADC configurations and CUDA take the torch path (:meth:`CrossbarLinearV1.column_currents` and the
ADC's ``quantize_scaled_``): same distribution, another random stream.

Reference path (:meth:`CrossbarLinearV1.forward_reference`): every cell's current and its own
noise draw, summed per column (slow; for tests and the benchmark).
"""
from typing import Any, Dict, Optional

import torch

from memristor_asr.crossbar import fused_adc
from memristor_asr.crossbar.adc import UniformAdcV1
from memristor_asr.crossbar.config import CrossbarConfigV2, Hardware, layer_hardware
from memristor_asr.crossbar.dac import DacV1
from memristor_asr.crossbar.faults import StuckCellCounts
from memristor_asr.crossbar.iv import make_iv
from memristor_asr.crossbar.noise import cell_read, column_variance_coefficients, read_noise_model
from memristor_asr.crossbar.programming import (
    DEFAULT_MAX_CELLS_PER_CHUNK,
    _tile_grid,
    bit_planes,
    derive_seed,
    program_planes,
)
from memristor_asr.crossbar.read_disturb import DisturbCandidates, ReadDisturbMonitor
from memristor_asr.crossbar.wires import WiredStates, attenuated_states, attenuation

__all__ = ["CrossbarLinearV1", "CrossbarConversionError"]



class CrossbarConversionError(ValueError):
    """A layer that cannot be put onto crossbars; the message names the layer."""


class CrossbarLinearV1(torch.nn.Module):
    """Linear layer on bit-sliced differential memristor crossbars.

    Build it with :meth:`from_quant_linear`. Buffers ``r_diff`` and ``r_sum`` [row tiles,
    tile_rows, P * out] (``r_pos - r_neg`` and ``r_pos + r_neg``) hold the programmed states.

    Attributes:
        name: qualified module name (errors, seeds, diagnostics)
        cfg: the layer's resolved :class:`CrossbarConfigV2` (no per-layer overrides)
        significance: [P] plane weights 2^(P-1) ... 1
        tile_clipped, tile_outputs: ADC outputs clipped / converted per row tile since the last
            reset (a partial last tile has smaller column sums and clips less: the papers'
            384-wide layers have only full tiles); ``n_clipped`` / ``n_adc_outputs`` are their sums
        pre_adc_histogram: a :class:`~memristor_asr.crossbar.diagnostics.PreAdcHistogram` or None
        wired: with wire resistance, a :class:`~memristor_asr.crossbar.wires.WiredStates` whose
            ``m_diff`` / ``low_diff`` (buffers ``wired_diff`` / ``wired_low``) replace ``r_diff``
            in the mean current (IR drop); None with ideal wires
        read_disturb: a :class:`~memristor_asr.crossbar.read_disturb.ReadDisturbMonitor` (reads that
            cross a cell's switching threshold; it switches them with ``cfg.apply_read_disturb``), or
            None (ideal devices)
    """

    def __init__(self, name: str, in_features: int, out_features: int, cfg: CrossbarConfigV2, act_scale: float,
                 act_q_max: int, weight_scale: float, significance, r_diff: torch.Tensor, r_sum: torch.Tensor,
                 bias: Optional[torch.Tensor], read_seed: int, stuck: Optional[StuckCellCounts] = None,
                 wired: Optional[WiredStates] = None, disturb: Optional[DisturbCandidates] = None):
        super().__init__()
        self.name = name
        self.in_features, self.out_features = in_features, out_features
        self.cfg = cfg
        self.act_scale, self.act_q_max, self.weight_scale = float(act_scale), int(act_q_max), float(weight_scale)
        self.output_factor = self.weight_scale * self.act_scale * self.act_q_max
        self.n_planes = len(significance)
        self.register_buffer("significance", torch.tensor(significance, dtype=torch.float32, device=r_diff.device))
        self.register_buffer("r_diff", r_diff)  # [row tiles, tile_rows, P * out]
        self.register_buffer("r_sum", r_sum)  # same shape
        self.register_buffer("wired_diff", None if wired is None else wired.m_diff)
        self.register_buffer("wired_low", None if wired is None else wired.low_diff)
        self._wire_loss = None if wired is None else wired.current_loss
        self._wire_error = None if wired is None else wired.full_scale_error  # [A] per column
        n_tiles, tile_rows = r_diff.shape[0], r_diff.shape[1]
        self.tile_row_counts = [min(tile_rows, in_features - j * tile_rows) for j in range(n_tiles)]
        self.register_buffer("bias", None if bias is None else bias.detach().float().clone().to(r_diff.device))
        self.iv = make_iv(cfg.device_model, cfg.correction_factor, cfg.v_read_max)
        self.noise = read_noise_model(cfg.read_noise)
        self.dac = DacV1(cfg.dac_bits, cfg.v_read_max)
        self.adc = cfg.adc.build(cfg.correction_factor)
        self.read_seed = int(read_seed)
        self._gen: Optional[torch.Generator] = None
        self._calls = 0  # forward calls since the last seed_read_noise: keys the fused path's noise
        self._tables: Dict[torch.device, tuple] = {}
        self.tile_clipped = [0] * n_tiles
        self.tile_outputs = [0] * n_tiles
        self._clipped_acc: Optional[torch.Tensor] = None  # [row tiles], summed lazily (no device sync)
        self.pre_adc_histogram = None
        self.stuck = stuck if stuck is not None else StuckCellCounts(cells=self.n_cells)
        # per-polarity correction (off: None): negative inputs read ~10-15 % low on Synaptogen cells,
        # so their contributions are scaled by c_negative / c before the ADC
        c_neg = getattr(cfg, "correction_factor_negative", None)
        self.negative_gain = 1.0 if c_neg is None else float(c_neg) / float(cfg.correction_factor)
        self.read_disturb = None if disturb is None else ReadDisturbMonitor(
            disturb, in_features, 2 * r_diff.shape[2], apply=getattr(cfg, "apply_read_disturb", False))

    # ------------------------------------------------------------------------------ building
    @classmethod
    def from_quant_linear(cls, layer: torch.nn.Module, cfg: Hardware, seed: int, name: str,
                          device: Optional[torch.device] = None,
                          max_cells_per_chunk: int = DEFAULT_MAX_CELLS_PER_CHUNK) -> "CrossbarLinearV1":
        """Program a :class:`memristor_asr.quant.QuantLinear` onto crossbars.

        :param layer: the QAT layer (its input quantizer must have observed data)
        :param cfg: the hardware description (V2, or V1); per-layer overrides are resolved here
        :param seed: the device-draw seed (tile and read-noise seeds derive from it and ``name``)
        :param name: the layer's qualified module name
        :param device: where to program and run (default: the layer's weight device)
        """
        cfg = layer_hardware(cfg, name)
        iq, wq = getattr(layer, "input_quantizer", None), getattr(layer, "weight_quantizer", None)
        if iq is None or wq is None or not hasattr(layer, "integer_weight"):
            raise CrossbarConversionError(f"layer {name!r}: not a QuantLinear (needs input_quantizer, "
                                          f"weight_quantizer, integer_weight())")
        if not iq.observed:
            raise CrossbarConversionError(f"layer {name!r}: its input quantizer never observed data, so the "
                                          f"activation scale is unknown; train or calibrate the model first")
        if not getattr(wq, "observed", True):
            raise CrossbarConversionError(f"layer {name!r}: its weight quantizer never observed the weights")
        levels, s_w = layer.integer_weight()
        q_max = int(wq.q_max)
        if levels.dtype.is_floating_point and not torch.equal(levels, torch.round(levels)):
            raise CrossbarConversionError(f"layer {name!r}: integer_weight() returned non-integer levels")
        if levels.shape != (layer.out_features, layer.in_features):
            raise CrossbarConversionError(f"layer {name!r}: integer weights have shape {tuple(levels.shape)}, "
                                          f"expected {(layer.out_features, layer.in_features)}")
        if levels.numel() and int(levels.abs().max()) > q_max:
            raise CrossbarConversionError(f"layer {name!r}: weights are not on the {wq.bits:g}-bit grid "
                                          f"(|level| {int(levels.abs().max())} > q_max {q_max})")
        s_a, s_w = float(iq.scale), float(s_w)
        if not (s_a > 0 and s_w > 0):
            raise CrossbarConversionError(f"layer {name!r}: non-positive quantizer scale (s_a={s_a}, s_w={s_w})")
        device = torch.device(device) if device is not None else layer.weight.device
        planes, significance = bit_planes(levels.to(device), q_max)
        iv = make_iv(cfg.device_model, cfg.correction_factor, cfg.v_read_max)
        states = program_planes(planes, cfg, iv, seed, name, device=device, max_cells_per_chunk=max_cells_per_chunk,
                                disturb_v_read=cfg.v_read_max)
        wired = None
        if cfg.has_wire_resistance:
            wired = attenuated_states(states.r_diff, states.r_sum, states.rows, states.n_planes, layer.out_features,
                                      _tile_grid(layer.out_features, cfg.tile_cols), iv, cfg.wordline_resistance,
                                      cfg.bitline_resistance, v_lin=0.5 * cfg.v_read_max, v_full=cfg.v_read_max)
        return cls(name, layer.in_features, layer.out_features, cfg, s_a, int(iq.q_max), s_w, significance,
                   states.r_diff, states.r_sum, layer.bias, read_seed=derive_seed(seed, name, "read"),
                   stuck=states.stuck, wired=wired, disturb=states.disturb)

    @property
    def n_cells(self) -> int:
        """Physical cells: two per weight and plane."""
        return 2 * self.n_planes * self.in_features * self.out_features

    # ------------------------------------------------------------------------------ randomness
    def seed_read_noise(self, seed: int) -> None:
        """Restart the read-noise stream from ``seed`` (e.g. per utterance, so results do not
        depend on batching or order)."""
        self.read_seed = int(seed)
        self._gen = None
        self._calls = 0

    def _generator(self, device: torch.device) -> torch.Generator:
        if self._gen is None or self._gen.device != device:
            self._gen = torch.Generator(device=device)
            self._gen.manual_seed(self.read_seed)
        return self._gen

    # ------------------------------------------------------------------------------ statistics
    @property
    def n_clipped(self) -> int:
        return sum(self.tile_clipped)

    @property
    def n_adc_outputs(self) -> int:
        return sum(self.tile_outputs)

    def reset_statistics(self) -> None:
        self._clipped_acc = None
        self.tile_clipped = [0] * len(self.tile_row_counts)
        self.tile_outputs = [0] * len(self.tile_row_counts)
        if self.pre_adc_histogram is not None:
            self.pre_adc_histogram.reset()
        if self.read_disturb is not None:
            self.read_disturb.reset()

    def clipping_stats(self) -> Dict[str, Any]:
        """ADC outputs clipped since the last reset: ``{"clipped", "outputs", "fraction"}`` over
        the layer, ``"tiles"`` per row tile (``{"rows", "clipped", "outputs", "fraction"}``) and
        ``"full_tiles"`` pooled over the tiles with all ``tile_rows`` rows (fraction None when
        the layer has none)."""
        if self._clipped_acc is not None:
            for j, c in enumerate(self._clipped_acc.tolist()):
                self.tile_clipped[j] += int(c)
            self._clipped_acc = None

        def frac(c, o):
            return c / o if o else 0.0

        tiles = [{"rows": r, "clipped": c, "outputs": o, "fraction": frac(c, o)}
                 for r, c, o in zip(self.tile_row_counts, self.tile_clipped, self.tile_outputs)]
        full = [t for t in tiles if t["rows"] == self.cfg.tile_rows]
        fc, fo = sum(t["clipped"] for t in full), sum(t["outputs"] for t in full)
        return {"clipped": self.n_clipped, "outputs": self.n_adc_outputs,
                "fraction": frac(self.n_clipped, self.n_adc_outputs), "tiles": tiles,
                "full_tiles": {"tiles": len(full), "clipped": fc, "outputs": fo, "fraction": fc / fo if fo else None}}

    def ir_drop_stats(self) -> Optional[Dict[str, float]]:
        """With wire resistance, at a full-scale input on every row: the fraction of the arrays'
        current lost to the wires and the differential column currents' error (rms, max) in ADC
        steps; None with ideal wires."""
        if self._wire_error is None:
            return None
        e = self._wire_error * self.adc.input_scale
        return {"current_loss": self._wire_loss, "rms_error_lsb": float(e.pow(2).mean().sqrt()),
                "max_error_lsb": float(e.abs().max()),
                "wordline_ohm": self.cfg.wordline_resistance, "bitline_ohm": self.cfg.bitline_resistance}

    def read_disturb_stats(self) -> Optional[Dict[str, Any]]:
        """Reads since the last reset that crossed a cell's switching threshold
        (:meth:`~memristor_asr.crossbar.read_disturb.ReadDisturbMonitor.report`); None for ideal devices."""
        return None if self.read_disturb is None else self.read_disturb.report()

    def _observe_reads(self, codes: torch.Tensor, levels: int) -> None:
        if self.read_disturb is not None:
            self.read_disturb.observe(codes, levels, self.r_diff, self.r_sum)

    # ------------------------------------------------------------------------------ DAC tables
    def _level_tables(self, levels: int, device: torch.device):
        """Per DAC level: D(V) (mean slope), c_const(V), c_r(V) (variance coefficients) and, with
        wire resistance, P_low(V), already in ADC code units (x input_scale, variances x
        input_scale^2). Indexing by DAC code replaces polynomial evaluation on every input."""
        key = (device, levels)
        if key not in self._tables:
            codes = torch.arange(-levels, levels + 1, device=device)
            volts = (codes.float() / levels) * self.cfg.v_read_max
            s = self._polarity_gain(volts) * self.adc.input_scale  # [levels]
            d = self.iv.diff_current(volts) * s
            low = None if self.wired_diff is None else self.iv.low_current(volts) * s
            if self.noise is None:
                self._tables[key] = (d, None, None, low)
            else:
                c0, c1 = column_variance_coefficients(volts, self.iv, self.noise)
                self._tables[key] = (d, c0 * s * s, c1 * s * s, low)
        return self._tables[key]

    def _polarity_gain(self, volts: torch.Tensor) -> torch.Tensor:
        """Per input: c_negative / c for negative read voltages, 1 otherwise (all 1 when off)."""
        if self.negative_gain == 1.0:
            return torch.ones_like(volts)
        return torch.where(volts < 0, torch.full_like(volts, self.negative_gain), torch.ones_like(volts))

    def _blocks(self, v: torch.Tensor) -> torch.Tensor:
        """[N, in] -> [N, row tiles, tile_rows] (zero-padded rows)."""
        nb, rows = self.r_diff.shape[0], self.r_diff.shape[1]
        pad = nb * rows - v.shape[1]
        if pad:
            v = torch.nn.functional.pad(v, (0, pad))
        return v.view(v.shape[0], nb, rows)

    # ------------------------------------------------------------------------------ fast path
    def _column_codes(self, x: torch.Tensor) -> torch.Tensor:
        """Noisy column currents in ADC input units (``I * adc.input_scale``), fast path.

        :param x: [N, in] :return: [row tiles, N, P * out]"""
        codes, levels = self.dac.codes(x, self.act_scale, self.act_q_max)
        self._observe_reads(codes, levels)
        d_tab, c0_tab, c1_tab, low_tab = self._level_tables(levels, x.device)
        idx = codes + levels  # [N, in]
        if self.wired_diff is None:
            v = torch.bmm(self._blocks(d_tab[idx]).transpose(0, 1), self.r_diff)  # [nb, N, P*out]
        else:  # IR drop: attenuated cells, and the low-state current no longer cancels in a pair
            v = torch.bmm(self._blocks(d_tab[idx]).transpose(0, 1), self.wired_diff)
            v.baddbmm_(self._blocks(low_tab[idx]).transpose(0, 1), self.wired_low)
        if self.noise is None:
            return v
        std = self._read_noise_std(c0_tab[idx], c1_tab[idx])
        eps = torch.randn(v.shape, generator=self._generator(v.device), device=v.device)
        return v.addcmul_(eps, std)

    def _read_noise_std(self, c0: torch.Tensor, c1: torch.Tensor) -> torch.Tensor:
        """Column read-noise std: ``sqrt(sum_i 2 c0_i + c1_i (r_pos + r_neg)_ij)`` per row tile.

        :param c0, c1: [N, in] per-input variance coefficients :return: [row tiles, N, P * out]
        """
        const = 2.0 * self._blocks(c0).sum(-1, keepdim=True).transpose(0, 1)  # [nb, N, 1] (pairs: 2 cells)
        var = torch.bmm(self._blocks(c1).transpose(0, 1), self.r_sum).add_(const)  # [nb, N, P*out]
        return var.clamp_(min=0).sqrt_()

    def column_currents(self, x: torch.Tensor) -> torch.Tensor:
        """Noisy column currents of every plane and row tile [A] (fast path).

        :param x: [N, in] layer inputs
        :return: [row tiles, N, P * out]; plane b's columns are ``b * out ... (b + 1) * out - 1``
        """
        return self._column_codes(x).div_(self.adc.input_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """:param x: [..., in] :return: [..., out]"""
        if x.shape[-1] != self.in_features:
            raise ValueError(f"layer {self.name!r}: expected {self.in_features} input features, got {x.shape[-1]}")
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.in_features)
        self._calls += 1
        if self.uses_fused_path(flat.device):
            return self._forward_fused(flat).view(*lead, self.out_features)
        return self._digitize_and_combine(self._column_codes(flat)).view(*lead, self.out_features)

    def uses_fused_path(self, device: torch.device) -> bool:
        """True where :meth:`forward` runs the fused CPU kernel (uniform ADC, CPU, numba present)."""
        return device.type == "cpu" and isinstance(self.adc, UniformAdcV1) and fused_adc.available()

    def _forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        """Fast path with the fused kernel: per row tile two fp32 matrix products over the
        tile's real rows, then noise + ADC + significance + tile sum in one pass."""
        codes, levels = self.dac.codes(x, self.act_scale, self.act_q_max)
        self._observe_reads(codes, levels)
        d_tab, c0_tab, c1_tab, low_tab = self._level_tables(levels, x.device)
        idx = codes + levels  # [N, in]
        d_in = d_tab[idx]  # [N, in]
        low_in = None if low_tab is None else low_tab[idx]
        noisy = self.noise is not None
        if noisy:
            c1_in = c1_tab[idx]
            c0_in = c0_tab[idx]
        n = x.shape[0]
        cols = self.r_diff.shape[2]
        y = torch.zeros(n, self.out_features)
        sig = self.significance.numpy()
        hist = self.pre_adc_histogram
        sampled = hist.take_frames(n) if hist is not None else None
        kept = []
        v = torch.empty(n, cols)
        var = torch.empty(n, cols) if noisy else None
        row0 = 0
        for j, rows in enumerate(self.tile_row_counts):
            sl = slice(row0, row0 + rows)
            row0 += rows
            if low_in is None:
                torch.mm(d_in[:, sl], self.r_diff[j, :rows], out=v)  # [N, P*out]
            else:  # IR drop (see _column_codes)
                torch.mm(d_in[:, sl], self.wired_diff[j, :rows], out=v)
                v.addmm_(low_in[:, sl], self.wired_low[j, :rows])
            if noisy:
                torch.mm(c1_in[:, sl], self.r_sum[j, :rows], out=var)
                var.add_(2.0 * c0_in[:, sl].sum(1, keepdim=True))  # pairs: 2 cells
            key = derive_seed(self.read_seed, self._calls, j)
            c = fused_adc.adc_accumulate(v.numpy(), None if var is None else var.numpy(), y.numpy(), sig,
                                         self.out_features, key, self.adc.precision_bits is not None,
                                         self.adc.max_code, write_back=sampled is not None)
            self.tile_clipped[j] += int(c)
            self.tile_outputs[j] += n * cols
            if sampled is not None:
                kept.append(v[sampled].clone())
        if sampled is not None and kept:
            hist.add(torch.stack(kept), scale=self.adc.output_step)
        y.mul_(self.adc.output_step * self.output_factor)
        return y if self.bias is None else y.add_(self.bias)

    def _digitize_and_combine(self, v: torch.Tensor) -> torch.Tensor:
        """[row tiles, N, P*out] ADC inputs (``I * input_scale``) -> [N, out] layer outputs."""
        if self.pre_adc_histogram is not None:
            self.pre_adc_histogram.update(v, scale=self.adc.output_step)
        clipped = self.adc.quantize_scaled_(v, per_tile=True)  # [row tiles]
        for j in range(v.shape[0]):
            self.tile_outputs[j] += v[j].numel()
        self._clipped_acc = clipped if self._clipped_acc is None else self._clipped_acc + clipped
        acc = v.sum(0) if v.shape[0] > 1 else v[0]  # digital sum of the row tiles' partial sums
        n = v.shape[1]
        per_plane = acc.view(n, self.n_planes, self.out_features)  # [N, P, out]
        y = torch.einsum("npo,p->no", per_plane, self.significance * (self.adc.output_step * self.output_factor))
        return y if self.bias is None else y + self.bias

    # ------------------------------------------------------------------------------ reference
    def cell_states(self, plane: int, row_tile: int):
        """(r_pos, r_neg), each [rows, out], of one plane and row tile (recovered from the
        stored sum and difference)."""
        rows = min(self.cfg.tile_rows, self.in_features - row_tile * self.cfg.tile_rows)
        cols = slice(plane * self.out_features, (plane + 1) * self.out_features)
        d, s = self.r_diff[row_tile, :rows, cols], self.r_sum[row_tile, :rows, cols]
        return (s + d) * 0.5, (s - d) * 0.5

    def column_currents_reference(self, x: torch.Tensor, frames_per_chunk: int = 8) -> torch.Tensor:
        """Per-cell simulation of :meth:`column_currents`: every cell's current ``I(V; r)``
        with its own read-noise draw, summed per column (each row's pair current scaled by the
        per-polarity gain, if set; with wire resistance each cell's mean current times its
        attenuation, recomputed per array). Same shape, same distribution."""
        codes, levels = self.dac.codes(x, self.act_scale, self.act_q_max)
        self._observe_reads(codes, levels)
        volts = (codes.float() / levels) * self.cfg.v_read_max  # [N, in]
        nb, n = self.r_diff.shape[0], x.shape[0]
        out = torch.zeros(nb, n, self.n_planes * self.out_features, device=x.device)
        gen = self._generator(x.device)
        for j in range(nb):
            r0 = j * self.cfg.tile_rows
            for b in range(self.n_planes):
                r_pos, r_neg = self.cell_states(b, j)
                cols = slice(b * self.out_features, (b + 1) * self.out_features)
                for f0 in range(0, n, frames_per_chunk):
                    v = volts[f0:f0 + frames_per_chunk, r0:r0 + r_pos.shape[0], None]  # [n, rows, 1]
                    i_pos = cell_read(v, r_pos, self.iv, self.noise, gen)  # [n, rows, out]
                    i_neg = cell_read(v, r_neg, self.iv, self.noise, gen)
                    if self.wired_diff is not None:
                        i_pos, i_neg = self._attenuate_reference(v, r_pos, r_neg, i_pos, i_neg)
                    if self.negative_gain == 1.0:
                        out[j, f0:f0 + frames_per_chunk, cols] = i_pos.sum(1) - i_neg.sum(1)
                    else:
                        out[j, f0:f0 + frames_per_chunk, cols] = ((i_pos - i_neg) * self._polarity_gain(v)).sum(1)
        return out

    def _attenuate_reference(self, v, r_pos, r_neg, i_pos, i_neg):
        """Scale each cell's mean current by its wire attenuation (per column tile), keeping its
        read-noise deviation as drawn."""
        cfg = self.cfg
        out = []
        for r, i in ((r_pos, i_pos), (r_neg, i_neg)):
            a = torch.ones_like(r)
            for c0, c1 in _tile_grid(self.out_features, cfg.tile_cols):
                a[:, c0:c1] = attenuation(r[:, c0:c1], self.iv, cfg.wordline_resistance, cfg.bitline_resistance,
                                          0.5 * cfg.v_read_max)
            mean = self.iv.current(v, r)
            out.append(i + mean * (a - 1))
        return out

    def forward_reference(self, x: torch.Tensor, frames_per_chunk: int = 8) -> torch.Tensor:
        """:meth:`forward` through the per-cell reference simulation."""
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.in_features)
        currents = self.column_currents_reference(flat, frames_per_chunk)
        return self._digitize_and_combine(currents.mul_(self.adc.input_scale)).view(*lead, self.out_features)

    def extra_repr(self) -> str:
        return (f"{self.name!r}, in={self.in_features}, out={self.out_features}, planes={self.n_planes}, "
                f"cells={self.n_cells}, {self.cfg.describe()}")
