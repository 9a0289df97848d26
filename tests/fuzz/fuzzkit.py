"""Fuzzing profiles: ``make test`` runs a fast one, ``make fuzz`` (EDGE_FUZZ=1) the long one.

(A helper module, not conftest, so its name never clashes with another folder's.)

Each target in this folder runs ``FUZZ_EXAMPLES`` inputs under ``make fuzz`` (8 targets ×
12,500 = 100,000 inputs) and ``FAST_EXAMPLES`` in ``make test``. Failing inputs hypothesis
finds are kept in ``corpus/hypothesis`` (replayed first on every run); hand-picked hostile
inputs live in ``corpus/*/`` and are replayed by ``test_fuzz_corpus.py``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

HERE = Path(__file__).parent

MAKE_FUZZ_EXAMPLES = 12_500  # per target under `make fuzz`
# EDGE_FUZZ_EXAMPLES overrides it for a shorter (or longer) run by hand
FUZZ_EXAMPLES = int(os.environ.get("EDGE_FUZZ_EXAMPLES", str(MAKE_FUZZ_EXAMPLES)))
FAST_EXAMPLES = 60

settings.register_profile(
    "fuzz",
    max_examples=FUZZ_EXAMPLES,
    deadline=timedelta(seconds=2),  # bounded time per input, with room for a loaded machine
    database=DirectoryBasedExampleDatabase(str(HERE / "corpus" / "hypothesis")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
)
settings.register_profile(
    "fast",
    max_examples=FAST_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # make test stays reproducible
)
# applied per test (``@FUZZ``), so the rest of the suite keeps hypothesis's own defaults
FUZZ = settings.get_profile("fuzz" if os.environ.get("EDGE_FUZZ") else "fast")
