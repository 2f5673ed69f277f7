"""A store with planted effects, to show that the fair comparisons find what is there and only that.

- Claim types differ in how often they are refused (compliance 75%, quality 35%, non-delivery
  15%); categories do not matter; nor do escalation, the other evidence or the order value.
- An inspection report cuts the odds of a supplier-sided outcome to ``INSPECTION_ODDS_RATIO``,
  but inspections are far commoner on compliance claims, the ones refused most: the raw
  comparison hides most of the effect.
- 40 ordinary suppliers with the common claim mix; MIX gets mostly compliance claims and behaves
  like everyone else within each claim type (a high raw rate, explained by its mix); BAD gets
  the common mix and refuses more within each claim type (odds x ``BAD_ODDS_RATIO``).

Seeded: the same store every run.

:func:`suppliers_store` plants what a fair supplier comparison must tell apart, at the sizes
that matter: five BAD suppliers of 40-120 decided cases refusing more within each claim type
(odds x ``BAD_ODDS_RATIO``), MIX (a high raw rate that is only its case mix), GOOD (odds x
``GOOD_ODDS_RATIO``), TINY (a handful of cases, every one refused: too few to be named) and
``NULL_SUPPLIERS`` ordinary suppliers of 30-90 cases, no better and no worse than the mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from tests.casefactory import build_store

INSPECTION_ODDS_RATIO = 0.3
BAD_ODDS_RATIO = 3.5
BASE_RATE = {"compliance": 0.75, "quality": 0.35, "non_delivery": 0.15}
COMMON_MIX = {"compliance": 0.25, "quality": 0.50, "non_delivery": 0.25}
MIX_MIX = {"compliance": 0.90, "quality": 0.10, "non_delivery": 0.0}
INSPECTED = {"compliance": 0.4, "quality": 0.1, "non_delivery": 0.05}
OTHER_EVIDENCE = ("photos", "chat_log", "contract")


@dataclass(frozen=True)
class PlantedStore:
    db: Path
    window: tuple[str, str]
    cases: int


#: suppliers_store's planted suppliers: (id, decided cases, claim mix, log odds ratio)
BAD_SIZES = (40, 60, 80, 100, 120)
GOOD_ODDS_RATIO = 0.25
NULL_SUPPLIERS = 150


@dataclass(frozen=True)
class PlantedSuppliers:
    db: Path
    window: tuple[str, str]
    cases: int
    bad: tuple[str, ...]
    null: tuple[str, ...]


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def planted_store(path: Path, seed: int = 20261202) -> PlantedStore:
    """Build the planted store at ``path`` (cases opened and closed in 2026)."""
    rng = np.random.default_rng(seed)
    suppliers = [(f"S{i:02d}", 70, COMMON_MIX, 0.0) for i in range(1, 41)]
    suppliers += [("MIX", 150, MIX_MIX, 0.0), ("BAD", 150, COMMON_MIX, np.log(BAD_ODDS_RATIO))]
    cases = _cases(rng, suppliers)
    db = build_store(path, cases)
    return PlantedStore(db=db, window=("2026-01-01", "2026-12-31"), cases=len(cases))


def suppliers_store(path: Path, seed: int = 20261207) -> PlantedSuppliers:
    """Build the store of planted suppliers at ``path`` (cases opened and closed in 2026)."""
    rng = np.random.default_rng(seed)
    bad = tuple(f"BAD{i}" for i in range(1, len(BAD_SIZES) + 1))
    null = tuple(f"N{i:03d}" for i in range(1, NULL_SUPPLIERS + 1))
    suppliers = [
        (s, n, COMMON_MIX, np.log(BAD_ODDS_RATIO)) for s, n in zip(bad, BAD_SIZES, strict=True)
    ]
    suppliers += [(s, int(rng.integers(30, 91)), COMMON_MIX, 0.0) for s in null]
    suppliers += [
        ("MIX", 120, MIX_MIX, 0.0),
        ("GOOD", 100, COMMON_MIX, np.log(GOOD_ODDS_RATIO)),
        ("TINY", 6, COMMON_MIX, 10.0),  # every case refused, whatever its claim
    ]
    cases = _cases(rng, suppliers)
    db = build_store(path, cases)
    return PlantedSuppliers(
        db=db, window=("2026-01-01", "2026-12-31"), cases=len(cases), bad=bad, null=null
    )


def _cases(rng: np.random.Generator, suppliers: list[tuple]) -> list[dict]:
    """The cases of ``suppliers`` [(id, cases, claim mix, log odds ratio)], all decided."""
    cases = []
    for supplier, n, mix, shift in suppliers:
        kinds = list(mix)
        claim_types = rng.choice(kinds, size=n, p=[mix[k] for k in kinds])
        for claim_type in claim_types:
            inspected = rng.random() < INSPECTED[claim_type]
            others = [e for e in OTHER_EVIDENCE if rng.random() < 0.5]
            logit = _logit(BASE_RATE[claim_type]) + shift
            logit += np.log(INSPECTION_ODDS_RATIO) if inspected else 0.0
            sided = rng.random() < 1 / (1 + np.exp(-logit))
            opened = date(2026, 1, 1) + timedelta(days=int(rng.integers(0, 300)))
            claim = int(rng.choice([500, 3000, 10000, 50000]))
            evidence = others + (["inspection_report"] if inspected else [])
            cases.append(
                dict(
                    supplier_id=supplier,
                    category=str(rng.choice(["machinery", "electronics", "apparel_textiles"])),
                    claim_type=str(claim_type),
                    outcome="no_refund" if sided else "full_refund",
                    claim_amount=claim,
                    refund_amount=0 if sided else claim,
                    opened_date=opened,
                    closed_date=opened + timedelta(days=int(rng.integers(5, 40))),
                    escalated_date=opened + timedelta(days=5) if rng.random() < 0.5 else None,
                    evidence=evidence or None,
                )
            )
    return cases
