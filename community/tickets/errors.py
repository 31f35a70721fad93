"""Domain errors of the ticket loop.

Every error names the ticket by its public `ref` (never the database id, which people must not see) and can
say what went wrong in the reader's language, so bot/ and actions/ show it without knowing the details.
"""

from __future__ import annotations

from typing import Any

from community.i18n import t


class TicketError(Exception):
    """Base of every ticket domain error."""

    key = "ticket.error.generic"

    def __init__(self, ref: str, message: str) -> None:
        super().__init__(message)
        self.ref = ref

    def params(self, language: str) -> dict[str, Any]:
        return {"ref": self.ref}

    def localized(self, language: str) -> str:
        return t(self.key, language, **self.params(language))


def _state_name(state: str, language: str) -> str:
    return t(f"ticket.state.{state}", language)


def _step_name(step: str, language: str) -> str:
    return t(f"ticket.step.{step}", language)


class TicketNotFound(TicketError):
    key = "ticket.error.not_found"

    def __init__(self, ref: str) -> None:
        super().__init__(ref, f"no ticket {ref}")


class IllegalTransition(TicketError):
    """The step is not possible from the ticket's current state."""

    key = "ticket.error.illegal"

    def __init__(self, ref: str, state: str, step: str, message: str | None = None) -> None:
        super().__init__(ref, message or f"ticket {ref} is {state}: cannot {step}")
        self.state = state
        self.step = step

    def params(self, language: str) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "state": _state_name(self.state, language),
            "step": _step_name(self.step, language),
        }


class AlreadyTaken(IllegalTransition):
    """Someone else won the race to accept (or the ticket was accepted earlier)."""

    key = "ticket.error.taken"

    def __init__(self, ref: str, state: str, winner_id: int | None, winner_name: str) -> None:
        super().__init__(ref, state, "accept", f"ticket {ref} has already been taken by {winner_name}")
        self.winner_id = winner_id
        self.winner_name = winner_name

    def params(self, language: str) -> dict[str, Any]:
        return {**super().params(language), "name": self.winner_name}


class AlreadyYours(AlreadyTaken):
    """The one pressing Accept is the one who accepted it earlier (a double tap, an old card)."""

    key = "ticket.error.yours"


class StaleVersion(TicketError):
    """The button (or form) was made for an older version of the ticket."""

    key = "ticket.error.stale"

    def __init__(self, ref: str, expected: int, current: int, state: str) -> None:
        super().__init__(ref, f"ticket {ref}: version {expected} is stale (now {current}, {state})")
        self.expected = expected
        self.current = current
        self.state = state

    def params(self, language: str) -> dict[str, Any]:
        return {"ref": self.ref, "state": _state_name(self.state, language)}


class NotAllowed(TicketError):
    """The person may not take this step on this ticket (roles come from the database)."""

    key = "ticket.error.not_allowed"

    def __init__(self, ref: str, step: str, person_id: int) -> None:
        super().__init__(ref, f"person {person_id} may not {step} ticket {ref}")
        self.step = step
        self.person_id = person_id

    def params(self, language: str) -> dict[str, Any]:
        return {"ref": self.ref, "step": _step_name(self.step, language)}


class InvalidInput(TicketError):
    """A required field is missing or out of range (`field`: note, reason or score)."""

    def __init__(self, ref: str, field: str, message: str) -> None:
        super().__init__(ref, f"ticket {ref}: {message}")
        self.field = field

    @property
    def key(self) -> str:  # type: ignore[override]
        return f"ticket.error.invalid.{self.field}"


class NoCandidate(TicketError):
    """Nobody left to pass the ticket to (everyone declined, or already at the top of the chain)."""

    key = "ticket.error.no_candidate"

    def __init__(self, ref: str, step: str) -> None:
        super().__init__(ref, f"ticket {ref}: nobody left to {step} to")
        self.step = step
