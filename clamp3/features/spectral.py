"""A weight-free audio extractor: summary statistics of each 5-second window, with librosa.

256 values per window (version ``spectral-v1``; any change of layout is a new version, since a
model trained on these features must always get the same ones):

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
"""

from __future__ import annotations

import numpy as np

from clamp3.features.extractors import SPECTRAL_NAME, window_bounds
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


class SpectralExtractor:
    name = SPECTRAL_NAME
    sample_rate = SAMPLE_RATE
    dim = 256

    def __init__(self) -> None:
        import librosa

        self._mel_basis = librosa.filters.mel(sr=self.sample_rate, n_fft=N_FFT, n_mels=N_MELS)
        self._chroma_basis = librosa.filters.chroma(sr=self.sample_rate, n_fft=N_FFT, tuning=0.0)

    def window(self, y: np.ndarray) -> np.ndarray:
        """One window's samples -> (256,) float32."""
        import librosa

        if len(y) < N_FFT:  # very short clips: pad to one analysis frame
            y = np.pad(y, (0, N_FFT - len(y)))
        magnitude = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))  # (1 + n_fft/2, frames)
        power = magnitude**2
        log_mel = librosa.power_to_db(self._mel_basis @ power, ref=1.0, amin=1e-10, top_db=None)  # (96, frames)
        chroma = self._chroma_basis @ power
        chroma = chroma / np.maximum(chroma.max(axis=0, keepdims=True), 1e-10)  # (12, frames), max-normalised
        mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC)
        contrast = librosa.feature.spectral_contrast(S=magnitude, sr=self.sample_rate, n_fft=N_FFT, hop_length=HOP)
        onset = librosa.onset.onset_strength(S=log_mel, sr=self.sample_rate, hop_length=HOP)
        tempo = librosa.feature.tempo(onset_envelope=onset, sr=self.sample_rate, hop_length=HOP)[0] if onset.any() else 0.0
        rms = librosa.feature.rms(S=magnitude, frame_length=N_FFT, hop_length=HOP)[0]
        zcr = zero_crossing_rate(y)
        vector = np.concatenate(
            [
                log_mel.mean(1) / 100, log_mel.std(1) / 100,  # dB scaled to about unit range
                chroma.mean(1), chroma.std(1),
                mfcc.mean(1) / 100, mfcc.std(1) / 100,
                contrast.mean(1) / 100,
                [onset.mean(), onset.std(), onset.max()],
                [tempo / 200.0],
                [rms.mean(), rms.std()],
                [zcr.mean()],
            ]
        )
        return np.nan_to_num(vector.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)

    def extract(self, waveform: np.ndarray) -> np.ndarray:
        bounds = window_bounds(len(waveform), self.sample_rate)
        return np.stack([self.window(waveform[a:b]) for a, b in bounds])
