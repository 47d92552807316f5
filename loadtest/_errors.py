"""The harness's errors.

LoadtestError              anything the CLI reports as one line
├── ScenarioError          the scenario file or an option is invalid (exit 2)
├── TargetError            a URL outside the scenario's targets was about to be used
├── SetupError             the target could not be prepared: unreachable, accounts or
│                          rooms could not be created (exit 3)
└── ResultsError           a results.json cannot be read or compared (exit 2)
"""

from __future__ import annotations


class LoadtestError(Exception):
    """Base class; the message is one line meant for the operator."""


class ScenarioError(LoadtestError):
    """The scenario (or a command-line override) is invalid; nothing was started."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


class TargetError(LoadtestError):
    """A request would have gone to an address the scenario does not name."""


class SetupError(LoadtestError):
    """The run could not start: the target is unreachable or refused the set-up."""


class ResultsError(LoadtestError):
    """A results file is missing, unreadable or not a pitchey-loadtest result."""
