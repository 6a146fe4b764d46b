from memristor_asr.nnadc.evaluation.report import results_rows, results_table


def _metrics(enob_mc, n_bits=8):
    chip = {"enob": enob_mc, "dnl_min": -0.5, "dnl_max": 0.7, "inl_min": -1.0, "inl_max": 1.2, "missing_codes": 0}
    summ = {"n": 100, "enob_median": enob_mc, "enob_p10": enob_mc - 0.2, "enob_p90": enob_mc + 0.1,
            "dnl_min_median": -0.6, "dnl_max_median": 0.8, "inl_min_median": -1.1, "inl_max_median": 1.3}
    return {"n_bits": n_bits, "stage_bits": [1] * n_bits, "transfer": "linear", "train_seconds": 12.0,
            "nominal": {"ideal": dict(chip, enob=enob_mc + 0.3), "calibrated": chip},
            "mc": {"ideal": summ, "calibrated": dict(summ, enob_median=enob_mc + 0.5)}}


def test_rows_and_table_report_targets():
    rows = results_rows({"a": _metrics(7.9), "b": _metrics(6.0)}, {"a": 7.8, "b": 7.8})
    assert [r["meets_target"] for r in rows] == [True, False]
    assert rows[1]["enob_calibrated_median"] == 6.5 and rows[0]["stages"] == "1+1+1+1+1+1+1+1"
    table = results_table(rows)
    lines = table.strip().splitlines()
    assert len(lines) == 4 and lines[1].startswith("|---")
    assert ">= 7.8 (ideal combiner, spectral): met" in lines[2] and "NOT met" in lines[3]
    assert all(line.count("|") == lines[0].count("|") for line in lines)
