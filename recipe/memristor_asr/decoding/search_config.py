"""How CTC log-probabilities become words: one config for greedy, lexicon-free and lexicon search.

Silence: flashlight's search needs a silence token index (the token a hypothesis "consumes" while
sitting between words). Our phoneme/BPE CTC models have none, so by default the CTC **blank** is
used as silence, with ``sil_score = 0``: between words a hypothesis then consumes blank frames
exactly as inside words, and the search is plain CTC prefix search over the lexicon tree (the
flashlight maintainers' recommendation for models without a silence unit). A nonzero
``sil_score`` would make blanks between words cost differently from blanks inside words, which
has no meaning for such a model, so it is rejected unless an explicit ``silence_token`` is set.

Word ends: flashlight completes a word when the search *enters* its last unit and then returns to
the tree root, where further frames are scored as silence (= blank). A last unit that spans
several frames would then have its repeats scored as blank, a penalty flashlight's letter
recipes avoid with an explicit word-boundary unit our models lack. With ``end_words_on_blank``
(default) every pronunciation is additionally inserted into the tree followed by the blank, so a
word may also be completed on the first blank frame after its last unit: the search can stay on
the last unit while it repeats, and every frame is scored exactly as CTC defines. The original
entry stays, so a word followed directly (without blank) by the next word's first unit still
decodes.

LM scores from KenLM are log10 probabilities while emissions are natural logs: ``lm_weight``
multiplies log10 scores (``lm_weight = 2.3`` weighs the LM like a natural-log scale of 1).
"""
import math
from dataclasses import dataclass
from typing import Optional

from memristor_asr.util.config_helpers import check_field_types, check_min

__all__ = ["SearchConfigV1", "SEARCH_MODES"]

SEARCH_MODES = ("lexicon", "lexicon_free", "greedy")


@dataclass
class SearchConfigV1:
    """Attributes:
        mode: "lexicon" (flashlight lexicon prefix-tree beam search with a word LM),
            "lexicon_free" (beam search over units, optional unit-level LM), "greedy" (best path)
        beam_size: hypotheses kept after each frame
        beam_size_token: units tried per frame (the best-scoring ones); None = all units
        beam_threshold: hypotheses scoring this much below the frame's best are dropped
        lm_weight: scale of the (log10) LM scores
        word_score: added per recognised word (positive favours more words)
        unk_score: score of emitting ``<unk>`` for a unit prefix that is no word; -inf disables
        sil_score: added per frame consumed as silence; must be 0 when silence is the blank
        silence_token: unit used as flashlight's silence; None = the CTC blank (see module docs)
        log_add: merge hypotheses reaching the same state by log-add instead of max
        end_words_on_blank: also let a word end on the blank after its last unit (see module docs)
    """

    mode: str = "lexicon"
    beam_size: int = 100
    beam_size_token: Optional[int] = None
    beam_threshold: float = 25.0
    lm_weight: float = 2.0
    word_score: float = 0.0
    unk_score: float = -math.inf
    sil_score: float = 0.0
    silence_token: Optional[str] = None
    log_add: bool = False
    end_words_on_blank: bool = True

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        check_field_types(self, ValueError)
        name = type(self).__name__
        if self.mode not in SEARCH_MODES:
            raise ValueError(f"{name}.mode must be one of {SEARCH_MODES}, got {self.mode!r}")
        check_min(self, "beam_size", 1)
        check_min(self, "beam_size_token", 1)
        if not self.beam_threshold > 0:
            raise ValueError(f"{name}.beam_threshold must be > 0, got {self.beam_threshold!r}")
        for field_name in ("lm_weight", "word_score", "sil_score"):
            if not math.isfinite(getattr(self, field_name)):
                raise ValueError(f"{name}.{field_name} must be finite, got {getattr(self, field_name)!r}")
        if math.isnan(self.unk_score) or self.unk_score == math.inf:
            raise ValueError(f"{name}.unk_score must be finite or -inf, got {self.unk_score!r}")
        if self.silence_token is None and self.sil_score != 0:
            raise ValueError(f"{name}.sil_score must be 0 when the blank serves as silence "
                             f"(silence_token=None), got {self.sil_score!r}")
