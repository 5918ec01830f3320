"""Audio files -> mono float32 waveforms at the extractor's sample rate.

libsndfile (through soundfile) reads WAV, FLAC, OGG/Vorbis/Opus, MP3 and AIFF; other containers
(m4a, aac, ...) go through ffmpeg when one is on PATH. Decoding is streamed block by block,
mixed down to mono (the mean of the channels, as the official loader) and resampled with soxr's
high-quality filter as it goes, so only the result at the target rate is ever held in memory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from clamp3.errors import InputError
from clamp3.formats.base import Item, budget

SAMPLE_RATE = 24_000  # the one rate of every waveform: MERT v1 and the spectral extractor read 24 kHz
SOUNDFILE_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif")
FFMPEG_EXTENSIONS = (".m4a", ".aac", ".wma", ".webm", ".mp4")
AUDIO_EXTENSIONS = SOUNDFILE_EXTENSIONS + FFMPEG_EXTENSIONS
_BLOCK_FRAMES = 1 << 18
# Longer audio is refused (2 hours at 24 kHz are 0.7 GB of float32); the check reads the header
# first and then stops decoding at the limit, so that neither a long file nor a header that
# claims a tiny sample rate (an hour per thousand frames at 1 Hz) makes a waveform past it.
# ``app.py`` sets a stricter limit (``CLAMP3_MAX_AUDIO_SECONDS``).
AUDIO_SECONDS_VARIABLE = "CLAMP3_MAX_AUDIO_SECONDS"
DEFAULT_MAX_AUDIO_SECONDS = 2 * 60 * 60


def max_audio_seconds() -> int:
    return budget(AUDIO_SECONDS_VARIABLE, DEFAULT_MAX_AUDIO_SECONDS)


def _libsndfile_reason(exc) -> str:
    """libsndfile's words without the path it repeats. A stream its decoder gives up on (a corrupt
    mp3) it reports as a file that does not exist; this one was just measured, so say what it is."""
    reason = exc.error_string.strip().rstrip(".")
    return "corrupt or truncated audio data" if "does not exist" in reason else reason


def _decode_soundfile(path: Path, sample_rate: int, max_seconds: float | None) -> np.ndarray:
    import soundfile
    import soxr

    limit = max_audio_seconds()
    try:
        with soundfile.SoundFile(str(path)) as audio:
            resampler = None if audio.samplerate == sample_rate else soxr.ResampleStream(
                audio.samplerate, sample_rate, 1, dtype="float32", quality="HQ"
            )
            if max_seconds is None:
                if audio.frames > limit * audio.samplerate:
                    seconds = audio.frames / audio.samplerate
                    raise InputError(path, f"audio is {seconds:.0f} s long, over the limit of {limit} s")
                # one frame past the limit tells a header that understates the length
                remaining = round(limit * audio.samplerate) + 1
            else:
                remaining = round(max_seconds * audio.samplerate)
            pieces = []
            while True:
                wanted = min(_BLOCK_FRAMES, remaining)
                block = audio.read(wanted, dtype="float32", always_2d=True)
                remaining -= len(block)
                last = len(block) < wanted or remaining == 0
                mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
                pieces.append(resampler.resample_chunk(mono, last=last) if resampler else mono.copy())
                if last:
                    break
    except soundfile.LibsndfileError as exc:
        raise InputError(path, f"not a readable audio file ({_libsndfile_reason(exc)})") from exc
    except (RuntimeError, ValueError) as exc:
        raise InputError(path, f"not a readable audio file ({exc})") from exc
    if max_seconds is None and remaining == 0:
        raise InputError(path, f"audio decodes to over {limit} s, the limit")
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)


def _decode_ffmpeg(path: Path, sample_rate: int, max_seconds: float | None) -> np.ndarray:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise InputError(path, f"decoding {path.suffix} needs ffmpeg on PATH (e.g. apt-get install ffmpeg)")
    limit = max_audio_seconds()
    # past the limit by a second, to tell a file over it
    duration = ["-t", str(limit + 1 if max_seconds is None else max_seconds)]
    command = [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), *duration, "-f", "f32le", "-ac", "1", "-ar", str(sample_rate), "-"]
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        reason = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(path, f"ffmpeg cannot decode it ({reason[-1] if reason else 'exit ' + str(result.returncode)})")
    waveform = np.frombuffer(result.stdout, dtype=np.float32).copy()
    if max_seconds is None and len(waveform) > limit * sample_rate:
        raise InputError(path, f"audio decodes to over {limit} s, the limit")
    return waveform


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None) -> np.ndarray:
    """Decode ``path`` (or its first ``max_seconds``) to a mono float32 waveform at ``sample_rate``."""
    path = Path(path)
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise InputError(path, "file is empty")
    if path.suffix.lower() in FFMPEG_EXTENSIONS:
        waveform = _decode_ffmpeg(path, sample_rate, max_seconds)
    else:
        waveform = _decode_soundfile(path, sample_rate, max_seconds)
    if waveform.size == 0:
        raise InputError(path, "audio has no samples")
    if not np.isfinite(waveform).all():
        raise InputError(path, "audio contains NaN or infinite samples")
    return waveform


def read_audio(path: Path) -> list[Item]:
    return [Item(path, path.stem, "waveform", load_audio(path))]
