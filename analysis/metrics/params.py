"""The metric parameters, validated once (the CLI, the notebooks and the runner all use this)."""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import asdict, dataclass
from decimal import Decimal

from analysis import settings
from analysis.errors import BadParameter

#: A buyer key: the first 20 hex digits of a SHA-256 (the formula ta_buyer_key).
_BUYER_KEY = re.compile(r"[0-9a-f]{20}")


def _number(name: str, value) -> float:
    if isinstance(value, bool):
        raise BadParameter(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadParameter(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise BadParameter(f"{name} must be a finite number, got {value!r}")
    return number


def _whole(name: str, value) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise BadParameter(f"{name} must be a whole number, got {value!r}")
    if value < 0:
        raise BadParameter(f"{name} must be 0 or more, got {value}")
    return int(value)


@dataclass(frozen=True)
class Params:
    """The metric parameters (defaults in :mod:`analysis.settings` and docs/metrics.md)."""

    threshold: float = settings.THRESHOLD  # supplier-sided: refund < threshold x claim
    lowball: float = settings.LOWBALL  # lowball: 0 < refund < lowball x claim
    min_n: int = settings.MIN_N  # a rate on fewer decided cases is marked "few cases"
    confidence: float = settings.CONFIDENCE  # interval coverage and test level
    #: a rate is shown from this many decided cases (default: MIN_N_RATE, or min_n if lower)
    min_n_rate: int | None = None
    min_n_named: int = settings.MIN_N_NAMED  # a supplier is named from this many decided cases
    #: one client's figures only: the buyer key of ``--client NAME`` (cases.buyer_key, computed
    #: with the store's secret by :func:`analysis.ingest.pseudonym.client_key`); None: every buyer
    buyer_key: str | None = None

    def __post_init__(self) -> None:
        key = str(self.buyer_key or "").strip() or None
        if key is not None and not _BUYER_KEY.fullmatch(key):
            raise BadParameter(
                "buyer_key must be a buyer key (20 hex digits, from --client NAME), "
                f"got {len(key)} characters"
            )
        object.__setattr__(self, "buyer_key", key)
        # Values from papermill or the command line may arrive as text; accept and normalise.
        for name in ("threshold", "lowball"):
            value = _number(name, getattr(self, name))
            if not 0 <= value <= 1:
                raise BadParameter(f"{name} must be between 0 and 1, got {value:g}")
            object.__setattr__(self, name, value)
        confidence = _number("confidence", self.confidence)
        if not 0 < confidence < 1:
            raise BadParameter(
                f"confidence must be between 0 and 1 (exclusive), got {confidence:g}"
            )
        object.__setattr__(self, "confidence", confidence)
        if self.min_n_rate is None or (
            isinstance(self.min_n_rate, str) and not self.min_n_rate.strip()
        ):
            object.__setattr__(
                self, "min_n_rate", min(settings.MIN_N_RATE, _whole("min_n", self.min_n))
            )
        for name in ("min_n", "min_n_rate", "min_n_named"):
            object.__setattr__(self, name, _whole(name, getattr(self, name)))
        if self.min_n_rate > self.min_n:
            raise BadParameter(
                f"min_n_rate ({self.min_n_rate}) must not be above min_n ({self.min_n}): rates "
                "are shown from min_n_rate decided cases and marked 'few cases' below min_n"
            )

    def as_dict(self) -> dict:
        """The parameters as a JSON-ready dict (``buyer_key`` only for one client's figures)."""
        values = asdict(self)
        if values["buyer_key"] is None:
            del values["buyer_key"]
        return values


#: The names of :class:`Params`' fields (what the runner validates through it).
PARAM_NAMES = tuple(Params.__dataclass_fields__)


def decimal_text(value: float) -> str:
    """A threshold as exact decimal text for SQL: 0.1 -> '0.1', not 0.1000000000000000055...

    repr() is the shortest text that round-trips the float.
    """
    return format(Decimal(repr(float(value))), "f")
