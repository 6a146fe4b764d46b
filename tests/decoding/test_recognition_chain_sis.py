"""recognise -> sclite -> aggregate -> report through the real `sis manager`, on a miniature corpus.

Three "device draws" of CTC log-probs for three utterances: draw 0 spells the references, draw 1
spells one word wrong (one substitution), draw 2 is all blank for the last utterance (its words
become deletions). LM weight and word score come from a tuning job on draw 0.
"""
import json
import pathlib
import sys

import pytest
import torch

from decoding_fixtures import spell
from memristor_asr.data.lexicon import read_lexicon
from memristor_asr.data.manifest import Utterance
from memristor_asr.data.stm import write_stm
from memristor_asr.decoding.logprobs import CtcLogProbs, save_logprobs

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from sis_helpers import make_setup, run_manager

REFS = {"utt-a": "the cat sat on the mat", "utt-b": "put it there", "utt-c": "the red cat and the black dog"}
N_WORDS = sum(len(s.split()) for s in REFS.values())  # 16

CONFIG = """
from sisyphus import tk
from memristor_asr.decoding.search_config import SearchConfigV1
from memristor_asr.jobs.recognition import RecognizeCtcJob, TuneLmScaleJob
from memristor_asr.jobs.scoring import AggregateWerJob, ScliteScoringJob
from memristor_asr.jobs.report import WerReportJob

D = {data!r}


def py():
    cfg = SearchConfigV1(beam_size=50)
    lex, lm, tokens, stm = (tk.Path(f"{{D}}/{{n}}") for n in ("lexicon.txt", "lm.bin", "tokens.txt", "ref.stm"))
    tune = TuneLmScaleJob(tk.Path(f"{{D}}/draw0.pt"), stm, cfg, lex, lm, lm_weights=[0.5, 2.0],
                          word_scores=[-100.0, 0.0], tokens=tokens, num_workers=1)
    wers = []
    for d in range(3):
        rec = RecognizeCtcJob(tk.Path(f"{{D}}/draw{{d}}.pt"), cfg, lex, lm, tokens, lm_weight=tune.out_lm_weight,
                              word_score=tune.out_word_score, num_workers=2 if d == 0 else 1)
        score = ScliteScoringJob(stm, rec.out_ctm, hyp_text=rec.out_text)
        tk.register_output(f"draw{{d}}.summary.json", score.out_summary)
        wers.append(score.out_wer)
    agg = AggregateWerJob(wers)
    report = WerReportJob([{{"system": "float", "bits": None, "adc": None, "wer": wers[0]}},
                           {{"system": "memristor", "bits": 3, "adc": (8, 8), "wer": agg.out_values}}],
                          clipping={{"ADC 8+8": tk.Path(f"{{D}}/clipping.json")}}, title="mini")
    tk.register_output("wer_statistics.md", agg.out_table)
    tk.register_output("report.md", report.out_table_md)
    tk.register_output("report.png", report.out_plot_bits)
    tk.register_output("clipping.png", report.out_plot_clipping)
    tk.register_output("tuning.tsv", tune.out_grid)
"""


def _draws(vocab, lex):
    blank_only = torch.full((12, len(vocab)), -9.0)
    blank_only[:, 0] = -1e-3
    wrong_b = "put it on".split()  # "there" spelled as "on": one substitution
    draws = []
    for d in range(3):
        utts = {}
        for i, (uid, text) in enumerate(REFS.items()):
            words = wrong_b if (d == 1 and uid == "utt-b") else text.split()
            utts[uid] = torch.from_numpy(spell(words, lex, vocab, seed=10 * d + i))
        if d == 2:
            utts["utt-c"] = blank_only.log_softmax(-1)
        draws.append(CtcLogProbs(vocab, 0.04, utts, {"draw": d}))
    return draws


@pytest.mark.slow
def test_recognise_score_aggregate_through_sis(tmp_path, tiny_lexicon, tiny_lm):
    lexicon_path, tokens_path, vocab = tiny_lexicon
    lex = read_lexicon(str(lexicon_path))
    data = tmp_path / "data"
    data.mkdir()
    for name, src in (("lexicon.txt", lexicon_path), ("tokens.txt", tokens_path), ("lm.bin", tiny_lm)):
        (data / name).write_bytes(pathlib.Path(src).read_bytes())
    write_stm(str(data / "ref.stm"), [Utterance(uid, "/dev/null", 2.0 + len(t.split()), "spk", t)
                                      for uid, t in REFS.items()])
    (data / "clipping.json").write_text(json.dumps({  # as from memristor_asr.crossbar.clipping_report
        "blocks.0.mhsa.linear_pos": {"clipped": 40, "outputs": 100, "fraction": 0.4, "adc": "ideal p=8 r=8"},
        "__total__": {"clipped": 40, "outputs": 100, "fraction": 0.4}}))
    for d, lp in enumerate(_draws(vocab, lex)):
        save_logprobs(str(data / f"draw{d}.pt"), lp)

    setup = make_setup(tmp_path, CONFIG.format(data=str(data)))
    run_manager(setup, timeout=900)
    out = setup / "output"
    summaries = [json.loads((out / f"draw{d}.summary.json").read_text()) for d in range(3)]
    assert [s["errors"] for s in summaries] == [0, 1, 7]
    assert summaries[1]["substitutions"] == 1 and summaries[2]["deletions"] == 7
    assert all(s["ref_words"] == N_WORDS for s in summaries)
    expected = [0.0, 100.0 / N_WORDS, 700.0 / N_WORDS]
    agg_dir = next((setup / "work" / "memristor_asr" / "jobs" / "scoring").glob("AggregateWerJob.*"))
    values = eval((agg_dir / "output" / "values").read_text())
    assert values == pytest.approx(expected)
    mean = float((agg_dir / "output" / "mean").read_text())
    assert mean == pytest.approx(sum(expected) / 3)
    assert float((agg_dir / "output" / "max").read_text()) == pytest.approx(700.0 / N_WORDS)
    tune_dir = next((setup / "work" / "memristor_asr" / "jobs" / "recognition").glob("TuneLmScaleJob.*"))
    assert float((tune_dir / "output" / "word_score").read_text()) == 0.0  # -100 per word deletes everything
    assert float((tune_dir / "output" / "wer").read_text()) == 0.0
    report = (out / "report.md").read_text()
    assert f"| memristor | 3 | 8+8 | 3 | {sum(expected) / 3:.2f} |" in report
    assert (out / "report.png").stat().st_size > 1000 and (out / "clipping.png").stat().st_size > 1000
