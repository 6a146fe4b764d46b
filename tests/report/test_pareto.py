"""WER vs ADC energy: the Pareto flags (ties, dominated points, a single point), the markdown
table sorted by energy, the plot, and entry validation naming the entry."""
import matplotlib.image
import pytest

from memristor_asr.report.pareto import entries_from_dicts, pareto_optimal, plot_wer_vs_energy, wer_energy_markdown


def test_pareto_flags():
    assert pareto_optimal([]) == []
    assert pareto_optimal([(3.0, 10.0)]) == [True]  # a single point is its own front
    # (energy, wer): (2, 20) is beaten on both axes by (1, 15); (4, 15) by (1, 15) on energy alone
    pts = [(1.0, 15.0), (2.0, 20.0), (3.0, 10.0), (4.0, 15.0), (8.0, 5.0)]
    assert pareto_optimal(pts) == [True, False, True, False, True]


def test_pareto_ties():
    # identical points do not dominate each other: both stay on the front
    assert pareto_optimal([(1.0, 10.0), (1.0, 10.0), (2.0, 5.0)]) == [True, True, True]
    # same energy: only the lower WER; same WER: only the lower energy
    assert pareto_optimal([(1.0, 12.0), (1.0, 10.0)]) == [False, True]
    assert pareto_optimal([(3.0, 10.0), (1.0, 10.0)]) == [False, True]
    # a tie with a dominated value is still dominated
    assert pareto_optimal([(1.0, 5.0), (2.0, 7.0), (2.0, 7.0)]) == [True, False, False]
    with pytest.raises(ValueError, match="point 1"):
        pareto_optimal([(1.0, 2.0), (float("nan"), 1.0)])


ENTRIES = [{"label": "ADC 8+8", "wer": 12.0, "energy": 1.2e-2},
           {"label": "ADC 4+4", "wer": 30.0, "energy": 4.8e-5},
           {"label": "ADC 2+6", "wer": [34.0, 36.0], "energy": 4.8e-5},
           {"label": "ADC 4+8", "wer": 12.5, "energy": 7.6e-4}]


def test_table_sorted_by_energy_with_front(tmp_path):
    entries = entries_from_dicts(ENTRIES)
    assert entries[2].wer == 35.0  # a list of draws: their mean
    rows = [line for line in wer_energy_markdown(entries, "t").splitlines() if line.startswith("| ADC")]
    assert rows == ["| ADC 4+4 | 4.800e-05 | 30.00 | - | 1 | yes |", "| ADC 2+6 | 4.800e-05 | 35.00 | 1.00 | 2 |  |",
                    "| ADC 4+8 | 7.600e-04 | 12.50 | - | 1 | yes |", "| ADC 8+8 | 1.200e-02 | 12.00 | - | 1 | yes |"]
    assert entries[2].wers == (34.0, 36.0) and entries[0].wer_std is None
    plot_wer_vs_energy(entries, str(tmp_path / "p.png"), title="t")
    img = matplotlib.image.imread(str(tmp_path / "p.png"))
    assert img.shape[0] > 100 and img.shape[1] > 100 and img.std() > 0.01
    plot_wer_vs_energy(entries[:1], str(tmp_path / "one.png"))  # a single entry is a front of one


@pytest.mark.parametrize("entries,match", [
    ([{"label": "a", "wer": 1.0}], "entry 0: .*missing keys \\['energy'\\]"),
    ([{"label": "a", "wer": 1.0, "energy": 0.0}], "entry 0 \\('a'\\): energy must be > 0"),
    ([{"label": "a", "wer": float("nan"), "energy": 1.0}], "entry 0 \\('a'\\): wer"),
    ([{"label": "a", "wer": 1.0, "energy": 1.0}, {"label": "a", "wer": 2.0, "energy": 2.0}], "entry 1: label 'a'"),
    ([{"label": "", "wer": 1.0, "energy": 1.0}], "entry 0: label"),
    ([{"label": "a", "wer": -1.0, "energy": 1.0}], "wer must be >= 0")])
def test_bad_entries_are_named(entries, match):
    with pytest.raises(ValueError, match=match):
        entries_from_dicts(entries)
