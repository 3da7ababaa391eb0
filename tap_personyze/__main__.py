"""``python -m tap_personyze``: the same as the ``tap-personyze`` command."""

from tap_personyze.tap import TapPersonyze

TapPersonyze.cli()
