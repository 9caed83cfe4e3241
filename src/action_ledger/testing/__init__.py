"""Test your code against the ledger: strategies, a state machine, a store contract, scenarios.

``action_ledger.testing`` is for the tools that embed the ledger (and for the project's own
tests, which use nothing else). It needs Hypothesis and pytest, which the ``testing`` extra
installs::

    pip install 'action-ledger[testing]'

What it holds:

* :mod:`action_ledger.testing.strategies`: Hypothesis strategies for valid values, events,
  envelopes, commands and whole histories (sequences ``decide`` accepts), and for invalid
  input, each tagged with the rule it breaks;
* :class:`LedgerMachine` and :func:`run_ledger_machine`: a stateful test that drives any
  :class:`~action_ledger.Ledger` with random commands and checks the ledger's laws after
  every step; subclass it to add your tool's own invariants;
* :class:`EventStoreContract`: the event-store contract suite, for a backend of your own;
* :func:`given`: ``given(events).when(command).then(events)`` for the rules.

The pytest fixtures (temporary ledgers of each backend) come from the plugin
:mod:`action_ledger.pytest_plugin`, which pytest loads by itself once the package is installed.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
    import pytest  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"action_ledger.testing needs Hypothesis and pytest ({exc}): "
        "pip install 'action-ledger[testing]'"
    ) from exc

from . import strategies
from ._scenario import Outcome, Scenario, given
from .contract import EventStoreContract, StepClock, StoreFactory, new_event, new_events
from .laws import LawViolation, check_laws
from .stateful import LedgerMachine, MakeLedger, run_ledger_machine
from .strategies import RegisterModel, histories

__all__ = [
    "EventStoreContract",
    "LawViolation",
    "LedgerMachine",
    "MakeLedger",
    "Outcome",
    "RegisterModel",
    "Scenario",
    "StepClock",
    "StoreFactory",
    "check_laws",
    "given",
    "histories",
    "new_event",
    "new_events",
    "run_ledger_machine",
    "strategies",
]
