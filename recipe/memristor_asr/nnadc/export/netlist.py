"""SPICE cross-check of a trained 1-bit pipeline stage (ngspice, batch mode).

Why: the behavioural model rests on the claim that a column of resistors to both polarities of
each line, the rails and a mid-rail load computes ``z = sum_i k_i s u_i`` in centred units. The
netlist builds exactly that circuit (one resistor per programmed cell, ``R = R_unit / |k|``),
with real CMOS inverters (level-1 MOSFETs) as the hidden activations, and sweeps the input.
Comparing it with the behavioural model evaluated with the *same* inverter curve (tabulated from
a DC sweep of one inverter) checks the crossbar mapping; the residual against the tanh family
shows how far the parametric VTC is from this particular inverter.

Idealised parts (stated, not hidden): complementary lines and the buffers between an inverter
and the next crossbar are ideal controlled sources; the comparator is a behavioural step.

Same physics as training and evaluation: the resistors are the column conductances of
:func:`..circuit.crossbar.column_conductances` and the behavioural twin is
:func:`..circuit.crossbar.block_forward` (in double precision), its comparator
:func:`..circuit.smooth_code.read_comparators`.
"""
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np
import torch

from ..circuit.block import BlockHardware
from ..circuit.crossbar import block_forward, column_conductances
from ..circuit.smooth_code import read_comparators
from ..circuit.vtc import apply_vtc, nominal_vtc

__all__ = ["SpiceInverterV1Config", "stage_netlist", "pipeline_stage_netlist", "simulate_stage", "simulate_inverter",
           "behavioural_stage", "ngspice_available"]


@dataclass(frozen=True)
class SpiceInverterV1Config:
    """The CMOS inverter and crossbar scale of the netlist.

    Attributes:
        vdd: supply (V)
        r_unit: resistance of a cell at level 1 (ohm); level ``k`` is ``r_unit / k``
        nmos_model, pmos_model: level-1 MOSFET model cards (parameters after the type)
        wn, wp, length: device sizes (m)
    """

    vdd: float = 1.5
    r_unit: float = 100e3
    nmos_model: str = "level=1 vto=0.4 kp=200u lambda=0.7"
    pmos_model: str = "level=1 vto=-0.4 kp=100u lambda=0.7"
    wn: float = 1e-6
    wp: float = 2e-6
    length: float = 1e-6


def ngspice_available() -> bool:
    return shutil.which("ngspice") is not None


def _crossbar(k: torch.Tensor, s: torch.Tensor):
    """Conductances (units of ``G_step``, double precision) of a programmed crossbar: sign, cells, loads."""
    return tuple(t.numpy() for t in column_conductances(k.double(), s.double()))


def _column(lines: List[Tuple[str, str]], xbar, j: int, node: str, cfg: SpiceInverterV1Config, tag: str) -> List[str]:
    """Resistors of column ``j`` of ``xbar = _crossbar(k, s)``: ``lines[i] = (true node, complement
    node)``; the last row is the bias. A cell of conductance ``g`` is ``R = r_unit / g``."""
    sign, g, load = xbar
    out = []
    for i in range(g.shape[0]):
        if g[i, j] == 0:
            continue
        src = lines[i][0] if sign[i, j] > 0 else lines[i][1]
        out.append(f"R{tag}_{i} {src} {node} {cfg.r_unit / float(g[i, j]):.6g}")
    if load[j] > 1e-9:
        out.append(f"R{tag}_load mid {node} {cfg.r_unit / float(load[j]):.6g}")
    return out


def _block(hw: BlockHardware, inputs: List[Tuple[str, str]], prefix: str,
           cfg: SpiceInverterV1Config) -> Tuple[List[str], List[str]]:
    """Netlist of one block; returns (lines, output column nodes)."""
    x1, x2 = _crossbar(hw.k1, hw.s1), _crossbar(hw.k2, hw.s2)
    rows = list(inputs) + [("vdd", "0")]  # bias row: true polarity is VDD, complement GND
    net: List[str] = []
    hidden_lines = []
    for j in range(hw.k1.shape[1]):
        col = f"{prefix}c{j}"
        net += _column(rows, x1, j, col, cfg, f"{prefix}a{j}")
        h = f"{prefix}h{j}"
        net.append(f"M{prefix}p{j} {h} {col} vdd vdd pch W={cfg.wp:g} L={cfg.length:g}")
        net.append(f"M{prefix}n{j} {h} {col} 0 0 nch W={cfg.wn:g} L={cfg.length:g}")
        net.append(f"E{prefix}b{j} {h}b 0 {h} 0 1")
        net.append(f"B{prefix}n{j} {h}n 0 V={cfg.vdd:g}-V({h})")
        hidden_lines.append((f"{h}b", f"{h}n"))
    rows2 = hidden_lines + [("vdd", "0")]
    outs = []
    for j in range(hw.k2.shape[1]):
        col = f"{prefix}o{j}"
        net += _column(rows2, x2, j, col, cfg, f"{prefix}w{j}")
        outs.append(col)
    return net, outs


def _check_exportable(sub_adc: BlockHardware, name: str) -> None:
    if sub_adc.thermometer:
        raise NotImplementedError(
            f"{name}: a redundant (1.5-bit) stage (two thermometer comparators, a 3-level digit into the residue "
            f"block) cannot be exported as a netlist yet: only plain 1-bit stages (one comparator) are")


def stage_netlist(sub_adc: BlockHardware, residue: BlockHardware, cfg: SpiceInverterV1Config, data_file: str,
                  n_points: int = 601, name: str = "stage_netlist") -> str:
    """Netlist of a 1-bit stage (sub-ADC with one output bit + residue) with a DC input sweep.

    :param name: how errors name the stage (:func:`pipeline_stage_netlist` passes ``stages[i]``)
    """
    _check_exportable(sub_adc, name)
    if sub_adc.cfg.n_out != 1 or residue.cfg.n_in != 2:
        raise ValueError(
            "stage_netlist: only 1-bit stages (one comparator output, residue inputs x and d) are exported")
    half = cfg.vdd / 2
    net = [
        "* NNADC 1-bit pipeline stage (generated)",
        f".model nch nmos {cfg.nmos_model}",
        f".model pch pmos {cfg.pmos_model}",
        f"Vdd vdd 0 {cfg.vdd:g}",
        f"Vmid mid 0 {half:g}",
        f"Vin in 0 {half:g}",
        f"Bin in_n 0 V={cfg.vdd:g}-V(in)",
    ]
    sub_net, sub_out = _block(sub_adc, [("in", "in_n")], "s", cfg)
    net += sub_net
    net.append(f"Bd d 0 V={cfg.vdd:g}*u(V({sub_out[0]})-{half:g})")
    net.append(f"Bdn d_n 0 V={cfg.vdd:g}-V(d)")
    res_net, res_out = _block(residue, [("in", "in_n"), ("d", "d_n")], "r", cfg)
    net += res_net
    step = cfg.vdd / (n_points - 1)
    net += [
        ".control",
        "set wr_singlescale",
        f"dc Vin 0 {cfg.vdd:g} {step:.9g}",
        f"wrdata {data_file} v({sub_out[0]}) v(d) v({res_out[0]})",
        ".endc",
        ".end",
    ]
    return "\n".join(net) + "\n"


def pipeline_stage_netlist(conv, stage: int, cfg: SpiceInverterV1Config, data_file: str, n_points: int = 601) -> str:
    """:func:`stage_netlist` of residue stage ``stage`` of a pipelined converter (NotImplementedError naming
    ``stages[stage]`` for a redundant stage)."""
    if conv.kind != "pipelined" or not 0 <= stage < len(conv.residues):
        raise ValueError(f"pipeline_stage_netlist: stage={stage}: not a residue stage of this {conv.kind} converter")
    return stage_netlist(conv.sub_adcs[stage], conv.residues[stage], cfg, data_file, n_points,
                         name=f"stages[{stage}]")


def _run(netlist: str, workdir: str, data_name: str) -> np.ndarray:
    path = os.path.join(workdir, "circuit.cir")
    with open(path, "w") as f:
        f.write(netlist)
    proc = subprocess.run(["ngspice", "-b", path], cwd=workdir, capture_output=True, text=True, timeout=600)
    data = os.path.join(workdir, data_name)
    if not os.path.exists(data):  # ngspice -b exits 1 after a .control-only run; the data file decides
        raise RuntimeError(f"ngspice failed (rc={proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return np.loadtxt(data)


def simulate_inverter(cfg: SpiceInverterV1Config, n_points: int = 1501) -> Tuple[np.ndarray, np.ndarray]:
    """DC transfer curve of one inverter: (vin, vout) in volts."""
    step = cfg.vdd / (n_points - 1)
    net = "\n".join([
        "* inverter VTC",
        f".model nch nmos {cfg.nmos_model}",
        f".model pch pmos {cfg.pmos_model}",
        f"Vdd vdd 0 {cfg.vdd:g}",
        "Vin in 0 0",
        f"Mp out in vdd vdd pch W={cfg.wp:g} L={cfg.length:g}",
        f"Mn out in 0 0 nch W={cfg.wn:g} L={cfg.length:g}",
        ".control",
        "set wr_singlescale",
        f"dc Vin 0 {cfg.vdd:g} {step:.9g}",
        "wrdata vtc.txt v(out)",
        ".endc",
        ".end",
    ]) + "\n"
    with tempfile.TemporaryDirectory() as d:
        arr = _run(net, d, "vtc.txt")
    return arr[:, 0], arr[:, 1]


def simulate_stage(sub_adc: BlockHardware, residue: BlockHardware, cfg: SpiceInverterV1Config = SpiceInverterV1Config(),
                   n_points: int = 601) -> Dict[str, np.ndarray]:
    """Run the stage netlist; returns centred ``x``, comparator column ``sub_out``, digit ``d``, ``residue``."""
    with tempfile.TemporaryDirectory() as d:
        arr = _run(stage_netlist(sub_adc, residue, cfg, "stage.txt", n_points), d, "stage.txt")
    half = cfg.vdd / 2
    c = lambda v: v / half - 1  # noqa: E731  volts -> centred units
    return {"x": c(arr[:, 0]), "sub_out": c(arr[:, 1]), "d": (arr[:, 2] > half).astype(np.int64),
            "residue": c(arr[:, 3])}


def behavioural_stage(sub_adc: BlockHardware, residue: BlockHardware, x: np.ndarray, vtc=None) -> Dict[str, np.ndarray]:
    """The behavioural model of the same stage at inputs ``x`` (centred).

    :param vtc: None for the block's nominal tanh curve, or ``(vin, vout)`` in centred units to
        use a tabulated inverter curve instead
    """
    def act(z):
        if vtc is None:
            return apply_vtc(torch.as_tensor(z), nominal_vtc(sub_adc.cfg.vtc)).numpy()
        return np.interp(z, vtc[0], vtc[1])

    def run(hw, u):
        return block_forward(u, *(w.numpy() for w in hw.nominal_weights(torch.float64)), act)[0]

    _check_exportable(sub_adc, "behavioural_stage")
    x = np.asarray(x, dtype=np.float64)
    sub = run(sub_adc, x[:, None])[:, 0]
    bit, d = read_comparators(torch.as_tensor(sub[:, None]), 1)  # the comparator: logic level [T, 1], digit [T]
    res = run(residue, np.stack([x, bit[:, 0].double().numpy()], axis=1))[:, 0]
    return {"x": x, "sub_out": sub, "d": d.numpy(), "residue": res}
