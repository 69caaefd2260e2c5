"""The join report: every reference-data join that failed or was repaired, never guessed silently."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class JoinIssue:
    """One failed or repaired join between two reference sources."""

    source: str  # file the record came from
    key: str  # the record's code or name there
    problem: str  # what failed ("no polygon", "no census figure", ...)
    action: str  # what was done about it ("skipped", "repaired leading zero", ...)


@dataclass
class JoinReport:
    """All join issues found while loading the reference data."""

    issues: list[JoinIssue] = field(default_factory=list)

    def add(self, source: str, key: str, problem: str, action: str) -> None:
        """Record one issue."""
        self.issues.append(JoinIssue(source, key, problem, action))

    def as_list(self) -> list[dict[str, str]]:
        """JSON-ready form."""
        return [asdict(i) for i in self.issues]
