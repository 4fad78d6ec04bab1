"""The small types of the quality checks: a suite (rows of one SQL select and its
expectations), a failure, and the report of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any



@dataclass
class Suite:
    """One expectation suite on the rows of one SQL select (a relation, or a few columns of
    it joined to what the rules compare with). The SQL is the engine's to run."""

    name: str  # e.g. "marts.beneficiary_base"
    group: str
    relation: str  # the table named in failures
    sql: str
    expectations: list = field(default_factory=list)


@dataclass
class Failure:
    suite: str
    relation: str
    expectation: str
    columns: str
    details: str

    def __str__(self) -> str:
        return f"{self.relation} | column {self.columns} | {self.expectation} | {self.details}"


@dataclass
class Report:
    suites: list[str]
    n_expectations: int
    failures: list[Failure]
    seconds: float
    docs_index: Path | None
    element_counts: dict[str, int] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # suite -> validation seconds

    @property
    def success(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        head = (f"{len(self.suites)} suites, {self.n_expectations} expectations, "
                f"{len(self.failures)} failed, {self.seconds:.1f} s")
        if self.docs_index:
            head += f"; Data Docs: {self.docs_index}"
        return "\n".join([head, *(f"  FAILED {f}" for f in self.failures)])
