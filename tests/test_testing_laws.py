"""The law checks of ``action_ledger.testing.laws`` pass on a sound ledger, and each fails,
naming its law, when what it guards is broken."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given as for_all

from action_ledger import Ledger
from action_ledger._decider import fold
from action_ledger.commands import Command
from action_ledger.pytest_plugin import LedgerFactory
from action_ledger.testing import LawViolation, RegisterModel, strategies
from action_ledger.testing.laws import (
    check_append_only,
    check_as_of,
    check_audit_append_only,
    check_laws,
    check_log,
    check_read_models,
    check_state,
    check_verify,
    snapshot,
)

FRESH = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _fill(ledger: Ledger, history: list[Command]) -> RegisterModel:
    for command in history:
        ledger.execute(command)
    return RegisterModel.replay(history)


def _broken(law: str) -> Any:
    """Expect a LawViolation of ``law``."""
    return pytest.raises(LawViolation, match=rf"^\[{law}\]")


@FRESH
@for_all(history=strategies.histories())
def test_a_sound_ledger_keeps_every_law(
    ledger_factory: LedgerFactory, history: list[Command]
) -> None:
    """On a ledger that carried out a valid history, every check passes."""
    ledger = ledger_factory("sqlite")
    model = _fill(ledger, history)
    log = check_laws(ledger, model)
    check_append_only(log[: len(log) // 2], log)
    histories = check_audit_append_only(dict.fromkeys(model.actions, ()), ledger)
    check_audit_append_only(histories, ledger)
    moment = log[-1].recorded_at
    check_as_of(ledger, snapshot(ledger.as_of(moment), moment))


@FRESH
@for_all(history=strategies.histories())
def test_log_is_model_fails_when_an_event_is_missing(
    ledger_factory: LedgerFactory, history: list[Command]
) -> None:
    """A model holding one more event than the log (or one fewer) breaks log-is-model."""
    ledger = ledger_factory("memory")
    model = _fill(ledger, history)
    extra = attrs.evolve(model, events=[*model.events, model.events[0]])
    with _broken("log-is-model"):
        check_log(ledger, extra)
    fewer = attrs.evolve(model, events=model.events[:-1])
    with _broken("log-is-model"):
        check_log(ledger, fewer)


@FRESH
@for_all(history=strategies.histories())
def test_append_only_fails_when_the_past_changes(
    ledger_factory: LedgerFactory, history: list[Command]
) -> None:
    """A log that lost its last event, or one whose first event changed, breaks append-only;
    so does a history entry that changed."""
    ledger = ledger_factory("memory")
    model = _fill(ledger, history)
    log = check_log(ledger, model)
    with _broken("append-only"):
        check_append_only(log, log[:-1])
    changed = [attrs.evolve(log[0], actor="someone else"), *log[1:]]
    with _broken("append-only"):
        check_append_only(changed, log)
    histories = check_audit_append_only(dict.fromkeys(model.actions, ()), ledger)
    action_id, entries = next(iter(histories.items()))
    altered = {action_id: (attrs.evolve(entries[0], summary="Something else."), *entries[1:])}
    with _broken("append-only"):
        check_audit_append_only(altered, ledger)


@FRESH
@for_all(history=strategies.histories(max_actions=4))
def test_state_is_fold_fails_when_a_state_differs(
    ledger_factory: LedgerFactory, history: list[Command]
) -> None:
    """A model whose state of one action is not the fold of its stream breaks state-is-fold."""
    ledger = ledger_factory("memory")
    model = _fill(ledger, history)
    action_id = next(iter(model.actions))
    wrong = fold(model.events_of(action_id)[:-1])  # one event behind
    with _broken("state-is-fold"):
        check_state(ledger, attrs.evolve(model, actions={**model.actions, action_id: wrong}))


@pytest.mark.parametrize(
    "tamper",
    [
        "DELETE FROM actions WHERE rowid = (SELECT min(rowid) FROM actions)",
        "UPDATE owners SET role = role || 'X' WHERE rowid = (SELECT min(rowid) FROM owners)",
        "UPDATE audit_trail SET summary = 'x' WHERE rowid = (SELECT max(rowid) FROM audit_trail)",
        "DELETE FROM meetings",
        "INSERT INTO links VALUES ('A-001', 'follows', 'Z', 'e', 1, '2021-10-04', NULL, 'd')",
    ],
)
@FRESH
@for_all(history=strategies.histories())
def test_read_models_are_fold_fails_when_a_table_is_edited(
    ledger_factory: LedgerFactory, tamper: str, history: list[Command]
) -> None:
    """An edit of a read-model table behind the runner's back breaks read-models-are-fold."""
    ledger = ledger_factory("sqlite")
    model = _fill(ledger, history)
    log = check_log(ledger, model)
    check_read_models(ledger, log)
    with ledger.read_model.db.conn:
        ledger.read_model.db.execute(tamper)
    with _broken("read-models-are-fold"):
        check_read_models(ledger, log)


@FRESH
@for_all(history=strategies.histories())
def test_verify_ok_fails_when_a_stored_hash_is_altered(
    ledger_factory: LedgerFactory, history: list[Command]
) -> None:
    """A stored event whose hash was altered breaks verify-ok."""
    ledger = ledger_factory("sqlite")
    _fill(ledger, history)
    check_verify(ledger)
    db = ledger.store.db  # type: ignore[attr-defined]
    with db.conn:
        db.execute("UPDATE events SET hash = ? WHERE position = 1", ["0" * 64])
    with _broken("verify-ok"):
        check_verify(ledger)


@FRESH
@for_all(history=strategies.histories())
def test_as_of_is_fixed_fails_when_the_past_register_differs(
    ledger_factory: LedgerFactory, history: list[Command]
) -> None:
    """A snapshot that no longer matches the register as of its moment breaks
    as-of-is-fixed."""
    ledger = ledger_factory("memory")
    model = _fill(ledger, history)
    moment = check_log(ledger, model)[-1].recorded_at
    then = snapshot(ledger.as_of(moment), moment)
    with _broken("as-of-is-fixed"):
        check_as_of(ledger, attrs.evolve(then, actions=then.actions[1:]))


def test_a_law_violation_is_an_assertion_error_naming_its_law() -> None:
    """``LawViolation`` is an ``AssertionError`` (pytest shows it as a failure), with ``law``."""
    error = LawViolation("verify-ok", "verify failed")
    assert isinstance(error, AssertionError)
    assert error.law == "verify-ok"
    assert str(error) == "[verify-ok] verify failed"
