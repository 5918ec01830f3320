"""Weight-free audio extractors: summary statistics of each 5-second window, with librosa.

256 values per window; any change of layout is a new version, since a model trained on these
features must always get the same ones. ``spectral-v1``:

| values | feature |
|---:|---|
| 96 + 96 | log-mel energy (96 bands), mean and standard deviation over time |
| 12 + 12 | chroma, mean and standard deviation |
| 13 + 13 | MFCC, mean and standard deviation |
| 7 | spectral contrast, mean |
| 3 | onset strength: mean, standard deviation, maximum |
| 1 | tempo estimate / 200 BPM |
| 2 | RMS energy, mean and standard deviation |
| 1 | zero-crossing rate, mean |

``spectral-v2`` also says how fast the music goes, which v1 hardly does: a linear probe on 239
of the demo's rendered excerpts (``benchmarks/renderings.py``) tells slow, moderate and fast apart
at 0.50 from v1 and 0.75 from v2 (majority 0.36), slow from fast at 0.78 and 0.87, the instrument
at 0.95 and 0.97, the dynamics at 0.94 and 0.90. It is v1 with chroma's and MFCC's standard
deviations replaced, every other value in its place, so that a tower trained on v1 can go on
training on v2:

| values | feature |
|---:|---|
| 204-215 (v1: chroma std) | the onset envelope's autocorrelation over the window (1 at lag 0) at the beat period of each of 24 tempi log-spaced over 35-350 BPM: the 12 slowest |
| 229-240 (v1: MFCC std) | the same, the 12 fastest |
| 241 (v1: MFCC std) | onsets per second / 10 (peaks of the onset envelope over its mean by a standard deviation) |
"""

from __future__ import annotations

import numpy as np

from clamp3.features.extractors import SPECTRAL_NAME, SPECTRAL_V2_NAME, window_bounds
from clamp3.formats.audio import SAMPLE_RATE

N_FFT = 2048
HOP = 512
N_MELS = 96
N_MFCC = 13


def zero_crossing_rate(y: np.ndarray, frame_length: int = N_FFT, hop_length: int = HOP, threshold: float = 1e-10) -> np.ndarray:
    """The share of sign changes in each centred frame, as ``librosa.feature.zero_crossing_rate``
    computes it (edge padding, samples within ``threshold`` of zero taken as +0, a frame's first
    sample counted as no change), in numpy: librosa's numba kernel for it crashes the process on
    some CPUs (AMD EPYC, numba 0.67 and 0.68), and a crash here would take the app down with it."""
    y = np.pad(y, frame_length // 2, mode="edge")
    signs = np.signbit(np.where(np.abs(y) <= threshold, 0, y))
    changes = np.concatenate([[0], np.cumsum(signs[1:] != signs[:-1])])  # changes[i]: sign changes up to sample i
    starts = np.arange(1 + (len(y) - frame_length) // hop_length) * hop_length
    return (changes[starts + frame_length - 1] - changes[starts]) / frame_length


def autocorrelation_at_tempi(onset: np.ndarray, bpms: np.ndarray, sample_rate: int = SAMPLE_RATE, hop: int = HOP) -> np.ndarray:
    """The autocorrelation of an onset envelope (mean removed, 1 at lag 0) at each tempo's beat
    period, interpolated between frames; 0 where the envelope is flat or shorter than the period."""
    x = onset - onset.mean()
    n = len(x)
    spectrum = np.fft.rfft(x, 2 * n)
    correlation = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    if correlation[0] <= 1e-12:
        return np.zeros(len(bpms))
    lags = 60.0 * sample_rate / (hop * bpms)  # frames per beat
    return np.interp(lags, np.arange(n), correlation / correlation[0], right=0.0)


def onset_count(onset: np.ndarray, reach: int = 3) -> int:
    """Onsets in an onset envelope: its peaks (the largest value within ``reach`` frames, 64 ms
    each way) that stand over its mean by more than one standard deviation. In numpy: librosa's
    peak picking is a numba kernel, and one of those crashed the process on some CPUs."""
    if len(onset) == 0:
        return 0
    neighbourhood = np.lib.stride_tricks.sliding_window_view(np.pad(onset, reach, constant_values=-np.inf), 2 * reach + 1)
    peaks = (onset >= neighbourhood.max(axis=1)) & (onset > onset.mean() + onset.std())
    return int(peaks.sum())


class SpectralExtractor:
    """``spectral-v1``: the layout of the module's first table."""

    name = SPECTRAL_NAME
    sample_rate = SAMPLE_RATE
    dim = 256

    def __init__(self) -> None:
        import librosa

        self._mel_basis = librosa.filters.mel(sr=self.sample_rate, n_fft=N_FFT, n_mels=N_MELS)
        self._chroma_basis = librosa.filters.chroma(sr=self.sample_rate, n_fft=N_FFT, tuning=0.0)

    def analyse(self, y: np.ndarray) -> dict[str, np.ndarray]:
        """One window's samples -> its frame-wise analyses (and the samples, padded)."""
        import librosa

        if len(y) < N_FFT:  # very short clips: pad to one analysis frame
            y = np.pad(y, (0, N_FFT - len(y)))
        magnitude = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))  # (1 + n_fft/2, frames)
        power = magnitude**2
        log_mel = librosa.power_to_db(self._mel_basis @ power, ref=1.0, amin=1e-10, top_db=None)  # (96, frames)
        chroma = self._chroma_basis @ power
        chroma = chroma / np.maximum(chroma.max(axis=0, keepdims=True), 1e-10)  # (12, frames), max-normalised
        onset = librosa.onset.onset_strength(S=log_mel, sr=self.sample_rate, hop_length=HOP)
        return dict(
            y=y, log_mel=log_mel, chroma=chroma, onset=onset,
            mfcc=librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC),
            contrast=librosa.feature.spectral_contrast(S=magnitude, sr=self.sample_rate, n_fft=N_FFT, hop_length=HOP),
            tempo=librosa.feature.tempo(onset_envelope=onset, sr=self.sample_rate, hop_length=HOP)[0] if onset.any() else 0.0,
            rms=librosa.feature.rms(S=magnitude, frame_length=N_FFT, hop_length=HOP)[0],
        )

    def parts(self, a: dict[str, np.ndarray]) -> list:
        """The window's values, in the layout's order, from its analyses."""
        return [
            a["log_mel"].mean(1) / 100, a["log_mel"].std(1) / 100,  # dB scaled to about unit range
            a["chroma"].mean(1), a["chroma"].std(1),
            a["mfcc"].mean(1) / 100, a["mfcc"].std(1) / 100,
            a["contrast"].mean(1) / 100,
            [a["onset"].mean(), a["onset"].std(), a["onset"].max()],
            [a["tempo"] / 200.0],
            [a["rms"].mean(), a["rms"].std()],
            [zero_crossing_rate(a["y"]).mean()],
        ]

    def window(self, y: np.ndarray) -> np.ndarray:
        """One window's samples -> (256,) float32."""
        vector = np.concatenate(self.parts(self.analyse(y)))
        assert len(vector) == self.dim
        return np.nan_to_num(vector.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)

    def extract(self, waveform: np.ndarray) -> np.ndarray:
        bounds = window_bounds(len(waveform), self.sample_rate)
        return np.stack([self.window(waveform[a:b]) for a, b in bounds])


class SpectralExtractorV2(SpectralExtractor):
    """``spectral-v2``: v1 with its chroma and MFCC standard deviations replaced by how fast the
    music goes (the module's second table)."""

    name = SPECTRAL_V2_NAME
    TEMPI = np.geomspace(35.0, 350.0, 24)  # BPM

    def parts(self, a: dict[str, np.ndarray]) -> list:
        periodicity = autocorrelation_at_tempi(a["onset"], self.TEMPI, self.sample_rate)
        rate = onset_count(a["onset"]) / (len(a["y"]) / self.sample_rate) / 10
        parts = super().parts(a)
        parts[3] = periodicity[:12]  # v1: chroma std
        parts[5] = [*periodicity[12:], rate]  # v1: MFCC std
        return parts
