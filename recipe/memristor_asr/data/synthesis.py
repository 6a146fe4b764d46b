"""Speech synthesis for the embedded corpus: espeak-ng and Festival voices, 16 kHz, augmented.

One utterance = engine -> temporary WAV -> ``sox`` (resample to 16 kHz mono, optional speed perturbation) piped
into Python, which adds noise at a chosen SNR, limits the peak, and writes a 16-bit WAV
atomically. Engines (Debian packages): ``espeak-ng`` (voice ``<accent>+<variant>``, rate
``-s`` in words per minute, pitch ``-p`` 0-99) and Festival's ``text2wave`` (voice names such as
``kal_diphone``; rate/pitch are not varied there, speed perturbation still applies).

Utterances are synthesised in parallel by a thread pool (the work happens in the child
processes), with a progress log line (done/total, rate, ETA) at most every ``log_every`` seconds.
"""
import concurrent.futures
import dataclasses
import functools
import logging
import os
import subprocess
import tempfile
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import soundfile

from memristor_asr.data.progress import ProgressLog

__all__ = [
    "SpeakerV1",
    "SynthesisRequest",
    "SynthesisError",
    "espeak_english_accents",
    "espeak_variants",
    "festival_voices",
    "synthesize",
    "synthesize_many",
]

log = logging.getLogger(__name__)


class SynthesisError(RuntimeError):
    """An engine failed or produced no audio; the message names utterance, speaker and command."""


@dataclasses.dataclass(frozen=True)
class SpeakerV1:
    """A synthetic speaker: one engine voice at a fixed rate and pitch.

    Attributes:
        id: speaker label used in manifests and STM files (no spaces)
        engine: "espeak" or "festival"
        voice: espeak ``accent+variant`` (e.g. ``en-us+f3``) or Festival voice (``kal_diphone``)
        rate_wpm: espeak speaking rate in words per minute (ignored by Festival)
        pitch: espeak base pitch 0-99 (ignored by Festival)
    """

    id: str
    engine: str
    voice: str
    rate_wpm: int = 175
    pitch: int = 50

    def __post_init__(self):
        if self.engine not in ("espeak", "festival"):
            raise ValueError(f"speaker {self.id!r}: unknown engine {self.engine!r} (espeak, festival)")
        if " " in self.id or not self.id:
            raise ValueError(f"speaker id {self.id!r} must be non-empty without spaces")


@dataclasses.dataclass(frozen=True)
class SynthesisRequest:
    """One utterance to synthesise.

    Attributes:
        utt_id: utterance id (used in error messages)
        text: normalised text to speak
        speaker: who speaks it
        out_path: destination WAV
        speed: sox speed factor (1.0 = none; changes tempo and pitch like tape speed)
        snr_db: additive noise level relative to the speech power; None = clean
        seed: seeds the noise
    """

    utt_id: str
    text: str
    speaker: SpeakerV1
    out_path: str
    speed: float = 1.0
    snr_db: Optional[float] = None
    seed: int = 0


#: the Debian package of each external program (``setup.sh`` installs them)
_PACKAGES = {"espeak-ng": "espeak-ng", "text2wave": "festival", "sox": "sox"}


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run``; a program that is not installed is a :class:`SynthesisError` naming it."""
    try:
        return subprocess.run(cmd, **kwargs)
    except FileNotFoundError:
        pkg = _PACKAGES.get(cmd[0], cmd[0])
        raise SynthesisError(f"{cmd[0]} is not installed (Debian package {pkg!r}; ./setup.sh installs it)") from None


@functools.lru_cache(maxsize=None)
def espeak_english_accents() -> Tuple[str, ...]:
    """espeak-ng's built-in English voices (not MBROLA ones, which need extra data files)."""
    out = _run(["espeak-ng", "--voices=en"], capture_output=True, text=True, check=True).stdout
    accents = []
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5 and cols[4].startswith("gmw/"):
            accents.append(cols[1])
    return tuple(sorted(set(accents)))


@functools.lru_cache(maxsize=None)
def espeak_variants() -> Tuple[str, ...]:
    """Names usable after ``+`` in an espeak voice (file names under ``voices/!v``)."""
    out = _run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True).stdout
    names = []
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5 and cols[4].startswith("!v/"):
            names.append(cols[4][3:])
    return tuple(sorted(set(names)))


@functools.lru_cache(maxsize=None)
def festival_voices() -> Tuple[str, ...]:
    """Installed Festival voices (directories under the voices/<language>/ tree)."""
    found = []
    root = "/usr/share/festival/voices"
    if os.path.isdir(root):
        for lang in sorted(os.listdir(root)):
            d = os.path.join(root, lang)
            if os.path.isdir(d):
                found += [v for v in sorted(os.listdir(d)) if os.path.isdir(os.path.join(d, v))]
    return tuple(found)


def _engine_command(speaker: SpeakerV1, text: str, wav_path: str) -> Tuple[List[str], Optional[str]]:
    """Command line that writes a WAV to ``wav_path``, and the text to feed on stdin (if any).

    A file, not a pipe: Festival writes a WAV header with a zero data length to a pipe.
    """
    if speaker.engine == "espeak":
        # espeak-ng matches voice names loosely ("no-such-voice" speaks Norwegian): check exactly
        accent, _, variant = speaker.voice.partition("+")
        if accent not in espeak_english_accents() or (variant and variant not in espeak_variants()):
            raise SynthesisError(f"speaker {speaker.id!r}: {speaker.voice!r} is not an espeak-ng English accent "
                                 f"{espeak_english_accents()} with an optional +variant")
        # text is normalised (letters, apostrophes, spaces): safe as one argument
        return ["espeak-ng", "-v", speaker.voice, "-s", str(speaker.rate_wpm), "-p", str(speaker.pitch),
                "-w", wav_path, text], None
    return ["text2wave", "-eval", f"(voice_{speaker.voice})", "-o", wav_path], text + "\n"


def _render(req: SynthesisRequest, sample_rate: int) -> np.ndarray:
    """engine -> temp WAV -> sox -> float32 samples at ``sample_rate``."""
    with tempfile.TemporaryDirectory(prefix="synth.") as tmp:
        raw_wav = os.path.join(tmp, "engine.wav")
        try:
            cmd, stdin_text = _engine_command(req.speaker, req.text, raw_wav)
        except SynthesisError as e:
            raise SynthesisError(f"utterance {req.utt_id!r}: {e}") from None
        shown = " ".join(cmd[:-1] if stdin_text is None else cmd)
        where = f"utterance {req.utt_id!r} (speaker {req.speaker.id!r}, command {shown!r})"
        try:
            eng = _run(cmd, input=stdin_text, capture_output=True, text=True)
        except SynthesisError as e:
            raise SynthesisError(f"{where}: {e}") from None
        err = (eng.stderr or "").strip()
        if eng.returncode != 0 or err.startswith("Error") or not os.path.exists(raw_wav):
            raise SynthesisError(f"{where}: {cmd[0]} failed (rc={eng.returncode}): {err[-500:]}")
        sox = ["sox", "-V1", raw_wav,
               "-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-r", str(sample_rate), "-"]
        if abs(req.speed - 1.0) > 1e-6:
            sox += ["speed", f"{req.speed:.4f}"]
        try:
            sx = _run(sox, capture_output=True)
        except SynthesisError as e:
            raise SynthesisError(f"{where}: {e}") from None
    if sx.returncode != 0:
        raise SynthesisError(f"{where}: sox failed (rc={sx.returncode}): {sx.stderr.decode(errors='replace')[-500:]}")
    audio = np.frombuffer(sx.stdout, dtype=np.float32)
    if audio.size < sample_rate // 10 or not np.any(audio):
        raise SynthesisError(f"{where}: engine produced no audio ({audio.size} samples){': ' + err if err else ''}")
    return audio


def _add_noise(audio: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    """White noise at ``snr_db`` below the power of the speech (frames above -40 dB of the peak)."""
    rng = np.random.default_rng(seed)
    frame = 400
    n = len(audio) // frame * frame
    power = (audio[:n].reshape(-1, frame) ** 2).mean(axis=1) if n else np.array([np.mean(audio ** 2)])
    active = power[power > power.max() * 1e-4]
    speech_power = float(active.mean()) if active.size else float(power.mean())
    noise = rng.standard_normal(len(audio)).astype(np.float32)
    noise *= np.sqrt(speech_power / 10 ** (snr_db / 10))
    return audio + noise


def synthesize(req: SynthesisRequest, sample_rate: int = 16000) -> float:
    """Render one utterance to ``req.out_path`` (16-bit mono WAV, written atomically).

    :return: duration in seconds
    """
    audio = _render(req, sample_rate)
    if req.snr_db is not None:
        audio = _add_noise(audio, req.snr_db, req.seed)
    peak = float(np.abs(audio).max())
    if peak > 0.95:  # limit the peak instead of clipping
        audio = audio * (0.95 / peak)
    out_dir = os.path.dirname(os.path.abspath(req.out_path))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".synth.", suffix=".wav", dir=out_dir)
    os.close(fd)
    try:
        soundfile.write(tmp, audio, sample_rate, subtype="PCM_16", format="WAV")
        os.replace(tmp, req.out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return len(audio) / sample_rate


def synthesize_many(
    requests: Sequence[SynthesisRequest],
    num_workers: int = 2,
    sample_rate: int = 16000,
    skip_existing: bool = False,
    log_every: float = 10.0,
    sink: Callable[[str], None] = None,
) -> List[float]:
    """Synthesise all requests in parallel; returns durations in request order.

    :param skip_existing: keep a WAV that already exists and is readable (resuming an
        interrupted run: files are written atomically, so an existing one is complete)
    """
    progress = ProgressLog(len(requests), "synthesis", log_every, sink)

    def one(req: SynthesisRequest) -> float:
        if skip_existing and os.path.exists(req.out_path):
            info = soundfile.info(req.out_path)
            if info.samplerate == sample_rate and info.frames > 0:
                return info.frames / sample_rate
        return synthesize(req, sample_rate)

    durations: List[Optional[float]] = [None] * len(requests)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, num_workers)) as pool:
        futures = {pool.submit(one, r): i for i, r in enumerate(requests)}
        try:
            for fut in concurrent.futures.as_completed(futures):
                durations[futures[fut]] = fut.result()
                progress.step()
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return durations
