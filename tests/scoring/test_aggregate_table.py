"""The markdown table of WER statistics over device draws (AggregateWerJob's ``out_table``)."""
from memristor_asr.scoring.aggregate import aggregate_wers, wer_statistics_markdown


def test_markdown_table_hand_computed():
    # mean 12.75; sample variance (0.25^2 + 1.25^2 + 1.75^2 + 0.75^2) / 3 = 1.75 -> std 1.3229
    s = aggregate_wers([12.5, 14.0, 11.0, 13.5], ddof=1)
    assert wer_statistics_markdown(s) == (
        "| draws | WER avg | std (ddof=1) | min | max |\n"
        "|---|---|---|---|---|\n"
        "| 4 | 12.75 | 1.32 | 11.00 | 14.00 |\n"
        "\n"
        "| draw | WER |\n"
        "|---|---|\n"
        "| 0 | 12.50 |\n"
        "| 1 | 14.00 |\n"
        "| 2 | 11.00 |\n"
        "| 3 | 13.50 |\n")


def test_one_draw_population_std():
    table = wer_statistics_markdown(aggregate_wers([7.125]))
    assert "| 1 | 7.12 | 0.00 | 7.12 | 7.12 |" in table and "std (ddof=0)" in table
    assert table.endswith("| 0 | 7.12 |\n")
