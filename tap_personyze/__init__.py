"""tap-personyze: the Singer tap (singer-sdk), a thin adapter over the core read engine."""

from tap_personyze.tap import TapPersonyze

__all__ = ["TapPersonyze"]
