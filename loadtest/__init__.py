"""pitchey-loadtest: drives many WebSocket and HTTP clients against a Pitchey deployment
and reports latency honestly (HDR histograms merged across workers, measured from the
intended send time).

It is a client of the server: it uses ``protocol`` for the wire format and talks HTTP and
WebSocket; only the optional ``--prepare`` step reaches PostgreSQL, through ``storage``.
"""

from ._cli import main
from ._clock import Offset, estimate_offset
from ._compare import compare
from ._errors import LoadtestError, ResultsError, ScenarioError, SetupError, TargetError
from ._histogram import Histogram
from ._html_report import render_html
from ._results import build_results, load_results
from ._roster import build_roster, users_at
from ._scenario import Scenario, load_scenario, parse_scenario, shipped_scenarios
from ._sequence import SequenceTracker
from ._thresholds import Threshold, Verdict, evaluate, parse_threshold

__all__ = [
    "Histogram",
    "LoadtestError",
    "Offset",
    "ResultsError",
    "Scenario",
    "ScenarioError",
    "SequenceTracker",
    "SetupError",
    "TargetError",
    "Threshold",
    "Verdict",
    "build_results",
    "build_roster",
    "compare",
    "estimate_offset",
    "evaluate",
    "load_results",
    "load_scenario",
    "main",
    "parse_scenario",
    "parse_threshold",
    "render_html",
    "shipped_scenarios",
    "users_at",
]
