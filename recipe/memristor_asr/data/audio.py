"""Audio file checks and I/O shared by importers and feature extraction.

Every corpus audio file must be readable, non-empty, mono and at the expected sample rate
(16 kHz); anything else is an :class:`AudioError` naming the file (and the manifest/STM line
that referenced it, when the caller passes ``where``).
"""
import os
import subprocess
from typing import Optional

import numpy as np
import soundfile

__all__ = ["AudioError", "check_audio", "load_audio", "cut_segment"]


class AudioError(ValueError):
    """Unusable audio; the message names the file and where it was referenced."""


def _prefix(path: str, where: Optional[str]) -> str:
    return f"{where}: {path}" if where else path


def check_audio(path: str, sample_rate: int = 16000, where: Optional[str] = None) -> float:
    """Validate header and size of ``path``; return its duration in seconds."""
    p = _prefix(path, where)
    if not os.path.isfile(path):
        raise AudioError(f"{p}: audio file does not exist")
    if os.path.getsize(path) == 0:
        raise AudioError(f"{p}: audio file is empty (0 bytes)")
    try:
        info = soundfile.info(path)
    except Exception as e:  # soundfile raises its own error types for corrupt headers
        raise AudioError(f"{p}: cannot read audio ({e})") from None
    if info.samplerate != sample_rate:
        raise AudioError(f"{p}: sample rate {info.samplerate} Hz, expected {sample_rate} Hz")
    if info.channels != 1:
        raise AudioError(f"{p}: {info.channels} channels, expected mono")
    if info.frames <= 0:
        raise AudioError(f"{p}: audio has no samples")
    return info.frames / info.samplerate


def load_audio(path: str, sample_rate: int = 16000, where: Optional[str] = None) -> np.ndarray:
    """Samples as float32 in [-1, 1], shape [N]; checks rate/channels like :func:`check_audio`."""
    check_audio(path, sample_rate, where)
    try:
        audio, sr = soundfile.read(path, dtype="float32", always_2d=False)
    except Exception as e:
        raise AudioError(f"{_prefix(path, where)}: cannot decode audio ({e})") from None
    if audio.size == 0:
        raise AudioError(f"{_prefix(path, where)}: audio has no samples")
    return audio


def cut_segment(src: str, dst: str, start: float, end: float, sample_rate: int = 16000,
                where: Optional[str] = None) -> float:
    """Cut ``[start, end)`` seconds from any sox-readable file (SPH, WAV, FLAC) into a 16-bit mono
    WAV at ``sample_rate`` (atomic); returns the duration written."""
    tmp = f"{dst}.tmp.wav"
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    cmd = ["sox", "-V1", src, "-r", str(sample_rate), "-c", "1", "-b", "16", "-e", "signed-integer", tmp,
           "trim", f"{start:.3f}", f"={end:.3f}"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise AudioError(f"{_prefix(src, where)}: sox could not cut {start:.2f}-{end:.2f} s: "
                         f"{res.stderr.strip()[-400:]}")
    os.replace(tmp, dst)
    return check_audio(dst, sample_rate, where)
