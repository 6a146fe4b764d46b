"""Report tables and plots from result rows."""
import csv
import json

import matplotlib.image
import pytest

from memristor_asr.report.plots import clipping_fractions, plot_clipping, plot_wer_vs_adc, plot_wer_vs_bits
from memristor_asr.report.wer_table import rows_from_dicts, wer_table_markdown, write_wer_table_csv

ROWS = [
    {"system": "float", "bits": None, "adc": None, "wer": 10.0},
    {"system": "PTQ", "bits": 8, "adc": None, "wer": 10.4},
    {"system": "PTQ", "bits": 3, "adc": None, "wer": 30.7},
    {"system": "QAT", "bits": 3, "adc": None, "wer": 11.0},
    {"system": "QAT", "bits": 1.5, "adc": None, "wer": 14.0},
    {"system": "memristor", "bits": 3, "adc": (8, 8), "wer": [12.0, 13.0, 11.5, 12.5]},
    {"system": "memristor", "bits": 3, "adc": (4, 4), "wer": [40.0, 45.0]},
    {"system": "memristor", "bits": 3, "adc": (6, 4), "wer": [20.0, 22.0]},
]


def test_tables(tmp_path):
    rows = rows_from_dicts(ROWS)
    md = wer_table_markdown(rows, title="test")
    lines = md.splitlines()
    mem = next(line for line in lines if line.startswith("| memristor | 3 | 8+8 |"))
    # average 12.25, population std of (12, 13, 11.5, 12.5) = 0.5590, min 11.5, max 13
    assert "| 4 | 12.25 | 0.56 | 11.50 | 13.00 |" in mem
    assert "| QAT | ternary | - | 1 | 14.00 | - | - | - |" in md
    assert "12.00, 13.00, 11.50, 12.50" in md
    write_wer_table_csv(str(tmp_path / "t.csv"), rows)
    with open(tmp_path / "t.csv") as f:
        recs = list(csv.DictReader(f))
    assert len(recs) == len(ROWS)
    assert recs[5]["adc_precision_bits"] == "8" and float(recs[5]["wer_mean"]) == pytest.approx(12.25)
    assert recs[0]["bits"] == "" and recs[4]["bits"] == "1.5"


def test_row_validation():
    with pytest.raises(ValueError, match="row 0"):
        rows_from_dicts([{"system": "x", "wer": float("nan")}])
    with pytest.raises(ValueError, match="adc"):
        rows_from_dicts([{"system": "x", "wer": 1.0, "adc": (8,)}])
    with pytest.raises(ValueError, match="unknown keys"):
        rows_from_dicts([{"system": "x", "wer": 1.0, "wers": 2}])


def test_plots(tmp_path):
    rows = rows_from_dicts(ROWS)
    plot_wer_vs_bits(rows, str(tmp_path / "bits.png"))
    plot_wer_vs_adc(rows, str(tmp_path / "adc.png"))
    report = {"blocks.0.ff.linear1": {"clipped": 5, "outputs": 100, "fraction": 0.05},
              "blocks.0.mhsa.linear_pos": {"clipped": 40, "outputs": 100, "fraction": 0.4},
              "__total__": {"clipped": 45, "outputs": 200, "fraction": 0.225}}
    fr = clipping_fractions(json.loads(json.dumps(report)))
    assert fr == {"blocks.0.ff.linear1": 0.05, "blocks.0.mhsa.linear_pos": 0.4, "total": 0.225}
    plot_clipping({"ADC 4+4": fr, "ADC 8+8": {"blocks.0.mhsa.linear_pos": 0.01}}, str(tmp_path / "clip.png"))
    for name in ("bits", "adc", "clip"):
        img = matplotlib.image.imread(str(tmp_path / f"{name}.png"))
        assert img.shape[0] > 100 and img.shape[1] > 100
        assert img.std() > 0.01  # something was drawn
    deep = {f"blocks.{i}.ff.linear1": {"clipped": c, "outputs": 100 * (i + 1), "fraction": c / (100 * (i + 1))}
            for i, c in enumerate([10, 0, 30])}
    assert clipping_fractions(deep, pool_blocks=True) == {"blocks.*.ff.linear1": pytest.approx(40 / 600)}
    with pytest.raises(ValueError, match="linear_pos"):
        clipping_fractions({"linear_pos": 1.5})
