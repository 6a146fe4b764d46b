"""Put recipe/ on the import path; a tiny espeak-ng corpus shared by the training tests."""
import pathlib
import sys

import pytest

_RECIPE = str(pathlib.Path(__file__).resolve().parents[2] / "recipe")
if _RECIPE not in sys.path:
    sys.path.insert(0, _RECIPE)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    from espeak_corpus import make_espeak_corpus

    return make_espeak_corpus(tmp_path_factory.mktemp("espeak"), num_utterances=24, seed=0)
