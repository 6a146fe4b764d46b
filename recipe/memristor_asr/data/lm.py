"""Word n-gram LM: training text, KenLM estimation, and perplexity from the ARPA file.

- Text: one normalised sentence per line. For the embedded corpus it is every King James clause
  except the dev/test sentences (:func:`lm_text_excluding`), which is checked again on the
  written file (:func:`assert_no_eval_sentences`): evaluation sentences never leak into the LM.
- Estimation: KenLM's ``lmplz`` (modified Kneser-Ney) and ``build_binary``, found through
  :func:`kenlm_binary` (``$MEMRISTOR_ASR_TOOLS_BIN``, else ``<repo>/tools/bin`` built by
  setup.sh, else ``PATH``). ``lmplz`` gets an explicit memory limit ``-S`` and temp dir ``-T``;
  ``--discount_fallback`` only when asked (tiny texts, where Kneser-Ney discounts are undefined).
- Perplexity: computed here in plain Python from the ARPA file (:class:`ArpaLm`), standard
  backoff semantics, log10 probabilities, ``</s>`` counted as a token, ``<s>`` not; words not in
  the LM score as ``<unk>`` and are also reported separately (perplexity with and without them,
  like KenLM's ``query``). No extra package needed (the ``kenlm`` Python module is not installed).
"""
import os
import shutil
import subprocess
import tempfile
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple


__all__ = [
    "KenLmError",
    "kenlm_binary",
    "lm_text_excluding",
    "assert_no_eval_sentences",
    "train_arpa",
    "build_binary",
    "ArpaLm",
]

TOOLS_ENV = "MEMRISTOR_ASR_TOOLS_BIN"


class KenLmError(RuntimeError):
    """A KenLM tool is missing or failed; the message has the command and its stderr tail."""


def kenlm_binary(name: str) -> str:
    """Absolute path of ``lmplz`` or ``build_binary``."""
    candidates = []
    if os.environ.get(TOOLS_ENV):
        candidates.append(os.path.join(os.environ[TOOLS_ENV], name))
    # the repo's tools/bin, also when recipe/ is reached through a symlink from another setup dir
    for here in (os.path.abspath(__file__), os.path.realpath(__file__)):
        repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(here))))
        candidates.append(os.path.join(repo, "tools", "bin", name))
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    found = shutil.which(name)
    if found:
        return found
    raise KenLmError(f"KenLM binary {name!r} not found in {candidates} or PATH; run setup.sh (builds tools/bin) "
                     f"or set {TOOLS_ENV}")


def lm_text_excluding(sentences: Iterable[str], exclude: Set[str]) -> Tuple[List[str], int]:
    """Sentences not in ``exclude`` (exact match after whitespace normalisation), and how many
    were dropped."""
    exclude = {" ".join(s.split()) for s in exclude}
    kept, dropped = [], 0
    for s in sentences:
        s = " ".join(s.split())
        if not s:
            continue
        if s in exclude:
            dropped += 1
        else:
            kept.append(s)
    return kept, dropped


def assert_no_eval_sentences(lm_text_path: str, eval_sentences: Iterable[str]) -> None:
    """Raise if any evaluation sentence is a line of the LM text file."""
    ev = {" ".join(s.split()) for s in eval_sentences}
    with open(lm_text_path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if " ".join(line.split()) in ev:
                raise AssertionError(f"{lm_text_path}:{lineno}: evaluation sentence {line.strip()!r} is in the LM text")


def _run(cmd: List[str], stdin_path: Optional[str] = None, stdout_path: Optional[str] = None) -> None:
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    stdout = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    try:
        res = subprocess.run(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    finally:
        if stdin_path:
            stdin.close()
        if stdout_path:
            stdout.close()
    if res.returncode != 0:
        raise KenLmError(f"{' '.join(cmd)} failed (rc={res.returncode}): {res.stderr.decode(errors='replace')[-1500:]}")


def train_arpa(text_path: str, arpa_path: str, order: int = 4, memory: str = "1G", tmp_dir: Optional[str] = None,
               discount_fallback: bool = False, prune: Optional[Sequence[int]] = None) -> None:
    """Estimate an ARPA LM with ``lmplz`` (written atomically).

    :param memory: ``lmplz -S`` (e.g. ``"1G"``, ``"20%"``): without it lmplz reserves 80 % of RAM
    :param tmp_dir: ``lmplz -T`` (default: next to the output)
    :param prune: per-order count thresholds (``--prune``), e.g. ``(0, 0, 1, 1)``
    """
    if not os.path.isfile(text_path) or os.path.getsize(text_path) == 0:
        raise KenLmError(f"{text_path}: LM training text is missing or empty")
    out_dir = os.path.dirname(os.path.abspath(arpa_path))
    os.makedirs(out_dir, exist_ok=True)
    tmp_dir = tmp_dir or out_dir
    os.makedirs(tmp_dir, exist_ok=True)
    cmd = [kenlm_binary("lmplz"), "-o", str(order), "-S", memory, "-T", tmp_dir]
    if discount_fallback:
        cmd.append("--discount_fallback")
    if prune:
        cmd += ["--prune"] + [str(p) for p in prune]
    fd, tmp = tempfile.mkstemp(prefix=".lm.", suffix=".arpa", dir=out_dir)
    os.close(fd)
    try:
        _run(cmd, stdin_path=text_path, stdout_path=tmp)
        os.replace(tmp, arpa_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def build_binary(arpa_path: str, binary_path: str) -> None:
    """KenLM binary (probing) format for fast loading; written atomically."""
    out_dir = os.path.dirname(os.path.abspath(binary_path))
    fd, tmp = tempfile.mkstemp(prefix=".lm.", suffix=".bin", dir=out_dir)
    os.close(fd)
    try:
        _run([kenlm_binary("build_binary"), arpa_path, tmp])
        os.replace(tmp, binary_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class ArpaLm:
    """A backoff n-gram model read from an ARPA file (log10 probabilities)."""

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self.order = 0
        self.counts: Dict[int, int] = {}
        # n-gram tuple -> (log10 prob, log10 backoff)
        self.ngrams: Dict[Tuple[str, ...], Tuple[float, float]] = {}
        self._read()
        if ("<unk>",) not in self.ngrams:
            raise ValueError(f"{self.path}: ARPA file has no <unk> unigram")

    def _read(self) -> None:
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"{self.path}: ARPA file does not exist")
        section = None
        with open(self.path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                line = line.strip()
                if not line:
                    continue
                if line == "\\data\\":
                    section = "data"
                    continue
                if line == "\\end\\":
                    break
                if line.startswith("\\") and line.endswith("-grams:"):
                    section = int(line[1:line.index("-")])
                    self.order = max(self.order, section)
                    continue
                if section == "data":
                    if line.startswith("ngram "):
                        n, c = line[6:].split("=")
                        self.counts[int(n)] = int(c)
                    continue
                if not isinstance(section, int):
                    raise ValueError(f"{self.path}:{lineno}: line outside an n-gram section: {line!r}")
                cols = line.split()
                if len(cols) not in (section + 1, section + 2):
                    raise ValueError(f"{self.path}:{lineno}: expected {section} words, a log-prob and maybe a backoff")
                prob = float(cols[0])
                words = tuple(cols[1:section + 1])
                backoff = float(cols[section + 1]) if len(cols) == section + 2 else 0.0
                self.ngrams[words] = (prob, backoff)
        for n, c in self.counts.items():
            got = sum(1 for k in self.ngrams if len(k) == n)
            if got != c:
                raise ValueError(f"{self.path}: header says {c} {n}-grams, file has {got}")

    def __contains__(self, word: str) -> bool:
        return (word,) in self.ngrams

    @property
    def vocabulary(self) -> Set[str]:
        return {k[0] for k in self.ngrams if len(k) == 1}

    def log10_prob(self, context: Tuple[str, ...], word: str) -> float:
        """log10 P(word | context) with backoff; ``context`` is truncated to order-1 words."""
        context = tuple(context[-(self.order - 1):]) if self.order > 1 else ()
        penalty = 0.0
        while True:
            entry = self.ngrams.get(context + (word,))
            if entry is not None:
                return penalty + entry[0]
            if not context:
                return penalty + self.ngrams[("<unk>",)][0]
            bo = self.ngrams.get(context)
            penalty += bo[1] if bo is not None else 0.0
            context = context[1:]

    def sentence_log10_prob(self, words: Sequence[str]) -> Tuple[float, List[float]]:
        """Total and per-token log10 probability of ``<s> words </s>`` (per token: words, then ``</s>``)."""
        context: Tuple[str, ...] = ("<s>",)
        per = []
        for w in list(words) + ["</s>"]:
            tok = w if (w,) in self.ngrams else "<unk>"
            per.append(self.log10_prob(context, tok))
            context = (context + (tok,))[-(self.order - 1):] if self.order > 1 else ()
        return sum(per), per

    def perplexity(self, sentences: Iterable[str]) -> dict:
        """Perplexity over ``sentences`` (``</s>`` counted), with and without OOV tokens."""
        total, total_no_oov, n_tok, n_oov, n_sent, n_words = 0.0, 0.0, 0, 0, 0, 0
        for s in sentences:
            words = s.split()
            _, per = self.sentence_log10_prob(words)
            n_sent += 1
            n_words += len(words)
            for w, lp in zip(words + ["</s>"], per):
                n_tok += 1
                total += lp
                if w != "</s>" and (w,) not in self.ngrams:
                    n_oov += 1
                else:
                    total_no_oov += lp
        if n_tok == 0:
            raise ValueError("perplexity: no sentences")
        return {
            "perplexity": 10 ** (-total / n_tok),
            "perplexity_excluding_oov": 10 ** (-total_no_oov / max(n_tok - n_oov, 1)),
            "log10_prob": total,
            "sentences": n_sent,
            "words": n_words,
            "tokens_scored": n_tok,
            "oov_words": n_oov,
            "oov_rate": n_oov / n_words if n_words else 0.0,
        }
