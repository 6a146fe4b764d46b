"""Put recipe/ on the import path; shared fixtures: a small cmudict lexicon and a real KenLM LM."""
import pathlib
import sys

import pytest

_RECIPE = str(pathlib.Path(__file__).resolve().parents[2] / "recipe")
_HERE = str(pathlib.Path(__file__).resolve().parent)
for _p in (_RECIPE, _HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from decoding_fixtures import LM_TEXT, build_lexicon, kenlm_available, train_lm  # noqa: E402


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    """A 4-gram KenLM binary trained by lmplz on a handful of sentences (skips without lmplz)."""
    if not kenlm_available():
        pytest.skip("KenLM lmplz/build_binary not built (run setup.sh or set MEMRISTOR_ASR_TOOLS_BIN)")
    return train_lm(tmp_path_factory.mktemp("lm"), LM_TEXT)


@pytest.fixture(scope="session")
def tiny_lexicon(tmp_path_factory):
    """(lexicon path, tokens path, vocab) for every word of the LM text, from cmudict."""
    return build_lexicon(tmp_path_factory.mktemp("lex"))
