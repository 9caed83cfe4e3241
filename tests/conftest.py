"""Shared test set-up: Hypothesis profiles (a fast default, a thorough ``ci`` profile).

The PostgreSQL fixtures (``postgres_dsn``, ``pg_schema``) and the temporary ledgers
(``ledger_factory``…) come from the package's own pytest plugin, ``action_ledger.pytest_plugin``
(registered through its ``pytest11`` entry point): skipped without a server, unless
``ACTION_LEDGER_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
