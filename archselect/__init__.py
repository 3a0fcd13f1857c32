"""archselect: measure which neural architecture family fits your data, and why.

Example:
    >>> import archselect
    >>> run = archselect.fit("datasets/digits.csv", trials=6)  # doctest: +SKIP
    >>> run.recommendation.family  # doctest: +SKIP
    'cnn2d'
"""

from archselect._errors import ArchSelectError, DataError, RunDirError, UsageError
from archselect._parallel import run_worker
from archselect._run import Run, fit, load
from archselect._version import __version__
from archselect.estimator import ArchSelectClassifier, ArchSelectRegressor
from archselect.load import Table, load_table
from archselect.plan import Plan, make_plan
from archselect.prepare import Prepared, prepare
from archselect.profile import Profile, profile_frame, profile_table
from archselect.search import SearchResult, run_search
from archselect.select import Recommendation, select

__all__ = [
    "ArchSelectClassifier",
    "ArchSelectError",
    "ArchSelectRegressor",
    "DataError",
    "Plan",
    "Prepared",
    "Profile",
    "Recommendation",
    "Run",
    "RunDirError",
    "SearchResult",
    "Table",
    "UsageError",
    "__version__",
    "fit",
    "load",
    "load_table",
    "make_plan",
    "prepare",
    "profile_frame",
    "profile_table",
    "run_search",
    "run_worker",
    "select",
]
