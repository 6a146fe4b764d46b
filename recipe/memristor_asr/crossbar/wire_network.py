"""The exact resistor network of one crossbar array with wire resistance (the IR-drop reference).

Geometry (one bitline array of a tile: ``R`` word lines x ``C`` bit lines): word line ``i`` is
driven with ``V_i`` at its left end and crosses the bit lines ``0 .. C-1``; bit line ``j`` runs
from row 0 down to row ``R-1`` and ends in its converter's input, held at virtual ground. Every
wire segment between two neighbouring cells, and the segment from the driver to the first cell and
from the last cell to the converter, has resistance ``r_row`` (word lines) or ``r_col`` (bit lines).
A cell between word-line node ``u_ij`` and bit-line node ``w_ij`` carries ``I(u_ij - w_ij; r_ij)``
(the I-V law of :mod:`~memristor_asr.crossbar.iv`, nonlinear for Synaptogen cells).

:func:`solve_array` solves Kirchhoff's current law at all ``2 R C`` nodes with Newton's method on
the sparse Jacobian (``scipy.sparse``): exact up to the solver tolerance, slow (a sparse solve per
Newton step), for tests and benchmarks. :func:`spice_netlist` writes the same network for ngspice
(cells as behavioural current sources), so the solver can be cross-checked against a circuit
simulator (``tests/crossbar/test_wire_resistance.py``). The fast approximation used in whole-model
simulation is :mod:`~memristor_asr.crossbar.wires`.

badcrossbar (Joksas and Mehonic, SoftwareX 2020) solves the same geometry for linear resistive
devices; the cells here are nonlinear polynomials, hence a Newton solve of our own.
"""
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from memristor_asr.crossbar.iv import IVModel

__all__ = ["ArraySolution", "solve_array", "spice_netlist", "solve_array_ngspice", "ngspice_available"]


@dataclass
class ArraySolution:
    """Solved array: ``column_currents`` [C] into the converters [A], node voltages ``u`` (word
    lines) and ``w`` (bit lines) [R, C] [V], Newton ``iterations`` taken."""

    column_currents: np.ndarray
    u: np.ndarray
    w: np.ndarray
    iterations: int


def _cell_poly(iv: IVModel, r: np.ndarray):
    """Per-cell polynomial coefficients of ``I(U; r) = (1 - r) P_low + r P_high``, highest degree
    first: [degree + 1, R, C]."""
    n = max(len(iv.low), len(iv.high))
    low = np.array((0.0,) * (n - len(iv.low)) + tuple(iv.low))
    high = np.array((0.0,) * (n - len(iv.high)) + tuple(iv.high))
    return low[:, None, None] * (1.0 - r)[None] + high[:, None, None] * r[None]


def _horner(coeffs: np.ndarray, x: np.ndarray) -> np.ndarray:
    y = coeffs[0].copy()
    for c in coeffs[1:]:
        y = y * x + c
    return y


def _check(volts: np.ndarray, r: np.ndarray, r_row: float, r_col: float) -> None:
    if r.ndim != 2 or volts.shape != (r.shape[0],):
        raise ValueError(f"solve_array: states must be [R, C] and volts [R], got {r.shape} and {volts.shape}")
    for name, v in (("r_row", r_row), ("r_col", r_col)):
        if not (v > 0 and np.isfinite(v)):
            raise ValueError(f"solve_array: {name} must be a positive finite resistance [ohm], got {v!r}")


def solve_array(volts, r, iv: IVModel, r_row: float, r_col: float, tol: float = 1e-12,
                max_iterations: int = 50) -> ArraySolution:
    """Solve one array's network exactly (Newton on Kirchhoff's current law).

    :param volts: [R] word-line drive voltages [V]
    :param r: [R, C] cell states (the I-V model's state variable)
    :param iv: the cells' I-V law
    :param r_row, r_col: word-line / bit-line resistance per segment [ohm] (> 0; zero wire
        resistance is the ideal crossbar, ``sum_i I(V_i; r_ij)``, and needs no solve)
    :param tol: stop when the largest Newton step is below ``tol`` volts
    """
    volts = np.asarray(volts, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    _check(volts, r, r_row, r_col)
    n_r, n_c = r.shape
    n = n_r * n_c
    coef = _cell_poly(iv, r)
    dcoef = np.stack([c * (len(coef) - 1 - k) for k, c in enumerate(coef[:-1])]) if len(coef) > 1 else coef * 0
    gw, gb = 1.0 / r_row, 1.0 / r_col
    idx = np.arange(n).reshape(n_r, n_c)

    # constant wire Laplacians: word lines couple (i, j) to (i, j +- 1) and the driver at j = -1;
    # bit lines couple (i, j) to (i +- 1, j) and virtual ground below row R-1
    a = idx[:, :-1].ravel()
    b = idx[:, 1:].ravel()
    rows_w = np.concatenate([a, b, a, b, idx[:, 0]])
    cols_w = np.concatenate([a, b, b, a, idx[:, 0]])
    vals_w = np.concatenate([np.full(a.size, gw), np.full(a.size, gw), np.full(a.size, -gw), np.full(a.size, -gw),
                             np.full(n_r, gw)])
    a = idx[:-1, :].ravel()
    b = idx[1:, :].ravel()
    rows_b = np.concatenate([a, b, a, b, idx[-1, :]]) + n
    cols_b = np.concatenate([a, b, b, a, idx[-1, :]]) + n
    vals_b = np.concatenate([np.full(a.size, gb), np.full(a.size, gb), np.full(a.size, -gb), np.full(a.size, -gb),
                             np.full(n_c, gb)])
    lap = scipy.sparse.coo_matrix((np.concatenate([vals_w, vals_b]), (np.concatenate([rows_w, rows_b]),
                                                                      np.concatenate([cols_w, cols_b]))),
                                  shape=(2 * n, 2 * n)).tocsr()
    source = np.zeros(2 * n)
    source[idx[:, 0]] = gw * volts  # driver current into the first node of each word line

    u = np.repeat(volts[:, None], n_c, axis=1)
    w = np.zeros((n_r, n_c))
    diag_idx = np.arange(n)
    for it in range(1, max_iterations + 1):
        x = np.concatenate([u.ravel(), w.ravel()])
        du = u - w
        i_cell = _horner(coef, du).ravel()
        g_cell = _horner(dcoef, du).ravel()
        # F = L x - source + [I_cell; -I_cell] (currents leaving the nodes)
        f = lap @ x - source + np.concatenate([i_cell, -i_cell])
        jac = lap + scipy.sparse.coo_matrix(
            (np.concatenate([g_cell, -g_cell, -g_cell, g_cell]),
             (np.concatenate([diag_idx, diag_idx, diag_idx + n, diag_idx + n]),
              np.concatenate([diag_idx, diag_idx + n, diag_idx, diag_idx + n]))), shape=(2 * n, 2 * n)).tocsr()
        step = scipy.sparse.linalg.spsolve(jac.tocsc(), -f)
        u = u + step[:n].reshape(n_r, n_c)
        w = w + step[n:].reshape(n_r, n_c)
        if np.max(np.abs(step)) < tol:
            break
    else:
        raise RuntimeError(f"solve_array: Newton did not converge in {max_iterations} iterations "
                           f"(r_row={r_row}, r_col={r_col}, array {n_r}x{n_c})")
    return ArraySolution(column_currents=w[-1] * gb, u=u, w=w, iterations=it)


# ------------------------------------------------------------------------------------ ngspice
def spice_netlist(volts, r, iv: IVModel, r_row: float, r_col: float) -> str:
    """The array's network as an ngspice netlist: word-line segments ``Rw``, bit-line segments
    ``Rb``, cells as behavioural current sources ``B`` with their polynomial I-V law, and a 0 V
    source ``Vs<j>`` as the ammeter at the end of each bit line."""
    volts = np.asarray(volts, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    _check(volts, r, r_row, r_col)
    n_r, n_c = r.shape
    coef = _cell_poly(iv, r)
    lines = ["* crossbar array with wire resistance (memristor_asr.crossbar.wire_network)"]
    for i in range(n_r):
        lines.append(f"Vin{i} drv{i} 0 DC {volts[i]:.12g}")
        lines.append(f"Rd{i} drv{i} wl{i}_0 {r_row:.12g}")
        for j in range(1, n_c):
            lines.append(f"Rw{i}_{j} wl{i}_{j - 1} wl{i}_{j} {r_row:.12g}")
    for j in range(n_c):
        for i in range(1, n_r):
            lines.append(f"Rb{i}_{j} bl{i - 1}_{j} bl{i}_{j} {r_col:.12g}")
        lines.append(f"Rs{j} bl{n_r - 1}_{j} s{j} {r_col:.12g}")
        lines.append(f"Vs{j} s{j} 0 DC 0")
    for i in range(n_r):
        for j in range(n_c):
            x = f"V(wl{i}_{j},bl{i}_{j})"
            expr = f"{coef[0, i, j]:.15g}"
            for c in coef[1:, i, j]:
                expr = f"({expr})*{x}+({c:.15g})"
            lines.append(f"B{i}_{j} wl{i}_{j} bl{i}_{j} I={expr}")
    lines += [".options reltol=1e-9 abstol=1e-15 vntol=1e-12",
              ".control", "set numdgt=12", "op", "print " + " ".join(f"i(vs{j})" for j in range(n_c)), ".endc", ".end"]
    return "\n".join(lines) + "\n"


def ngspice_available() -> bool:
    return shutil.which("ngspice") is not None


def solve_array_ngspice(volts, r, iv: IVModel, r_row: float, r_col: float, timeout: float = 120.0) -> np.ndarray:
    """Column currents [C] into the converters [A], from an ngspice operating-point analysis."""
    if not ngspice_available():
        raise RuntimeError("ngspice is not on PATH (setup.sh installs it with apt)")
    n_c = np.asarray(r).shape[1]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "array.cir")
        with open(path, "w") as f:
            f.write(spice_netlist(volts, r, iv, r_row, r_col))
        out = subprocess.run(["ngspice", "-b", path], capture_output=True, text=True, timeout=timeout)
    found = dict((int(m.group(1)), float(m.group(2)))
                 for m in re.finditer(r"i\(vs(\d+)\)\s*=\s*([-+0-9.eE]+)", out.stdout))
    if len(found) != n_c:
        raise RuntimeError(f"ngspice returned {len(found)} of {n_c} column currents:\n{out.stdout[-2000:]}"
                           f"\n{out.stderr[-2000:]}")
    # i(Vs) is the current through the source from its + node (the bit line end) to ground
    return np.array([found[j] for j in range(n_c)])
