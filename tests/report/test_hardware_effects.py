"""The IR-drop / read-disturb tables from real clipping reports of small crossbar models."""
import json

import torch

from memristor_asr.crossbar import CrossbarConfigV2, convert_to_crossbars
from memristor_asr.crossbar.diagnostics import clipping_report
from memristor_asr.quant import QuantLinear, calibration
from memristor_asr.report.hardware_effects import hardware_effects_markdown, ir_drop_rows, read_disturb_rows


class _Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wide = QuantLinear(200, 30, weight_bits=3, name="wide")
        self.narrow = QuantLinear(30, 20, weight_bits=3, name="narrow")

    def forward(self, x):
        return self.narrow(self.wide(x))


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = torch.nn.ModuleList([_Block(), _Block()])

    def forward(self, x):
        return self.blocks[1](torch.nn.functional.pad(self.blocks[0](x), (0, 180)))


def _model():
    torch.manual_seed(0)
    m = _Net()
    with calibration(m):
        m(torch.randn(64, 200) * 2)
    return m.eval()


def test_tables_pool_block_indices_and_rank_the_wide_layer_first():
    hw = CrossbarConfigV2(wordline_resistance=1.0, bitline_resistance=1.0)
    xb = convert_to_crossbars(_model(), hw, seed=1)
    xb(torch.randn(8, 200) * 3)
    rep = json.loads(json.dumps(clipping_report(xb)))  # as the job reads it back
    ir = ir_drop_rows(rep)
    assert [r["layer"] for r in ir] == ["blocks.*.wide", "blocks.*.narrow"]  # 200 rows: longer word lines
    assert all(r["layers"] == 2 and 0 < r["current_loss"] < 0.5 for r in ir)
    rd = read_disturb_rows(rep)
    assert {r["layer"] for r in rd} == {"blocks.*.wide", "blocks.*.narrow"}
    assert sum(r["cell_reads"] for r in rd) == rep["__total__"]["read_disturb"]["cell_reads"]
    md = hardware_effects_markdown({"wires 1 ohm": rep})
    assert "## IR drop: wires 1 ohm" in md and "## Read disturb: wires 1 ohm" in md
    assert "blocks.*.wide" in md and "largest read voltage under 0.1 %" in md


def test_entries_without_diagnostics_say_so():
    assert "No entry" in hardware_effects_markdown({"x": {"__total__": {"clipped": 0}}})
