"""A report as data (sections of rows with fixed columns) and its CSV and JSON writers.

CSV: the first section goes to FILE; every other section to FILE's stem + `-<section>.csv` beside
it; the report's facts (period, due date, generation time, ...) to stem + `-about.csv` (key,value).
On standard output, sections follow one another, each after a `# <section>` line.
JSON: one object {"report", the facts..., "sections": {name: [rows]}}.
Files are written to a temporary name and renamed, so a reader never sees half a report and a
rerun replaces the previous one.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Section:
    """Rows (dicts) with the columns in their documented order."""

    columns: tuple[str, ...]
    rows: tuple[dict, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """A named report: its facts and its sections, the first one being the main table."""

    name: str
    facts: dict
    sections: dict[str, Section] = field(default_factory=dict)

    def section(self, name: str) -> tuple[dict, ...]:
        return self.sections[name].rows


def _csv_text(section: Section) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(section.columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in section.rows:
        writer.writerow({c: _cell(row.get(c)) for c in section.columns})
    return buf.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_json(report: Report) -> str:
    doc = {
        "report": report.name,
        **report.facts,
        "sections": {
            name: [{c: row.get(c) for c in s.columns} for row in s.rows] for name, s in report.sections.items()
        },
    }
    return json.dumps(doc, indent=2, default=str) + "\n"


def to_csv(report: Report) -> str:
    """Every section, for standard output."""
    parts = ["# about\n" + _csv_text(_about(report))]
    parts += [f"# {name}\n" + _csv_text(s) for name, s in report.sections.items()]
    return "\n".join(parts)


def _about(report: Report) -> Section:
    return Section(
        ("key", "value"), tuple({"key": k, "value": v} for k, v in {"report": report.name, **report.facts}.items())
    )


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(report: Report, path: Path) -> list[Path]:
    _atomic_write(path, to_json(report))
    return [path]


def write_csv(report: Report, path: Path) -> list[Path]:
    """The main section to `path`, the others (and the facts) beside it; returns the files written."""
    written = []
    for i, (name, section) in enumerate(report.sections.items()):
        target = path if i == 0 else path.with_name(f"{path.stem}-{name}.csv")
        _atomic_write(target, _csv_text(section))
        written.append(target)
    about = path.with_name(f"{path.stem}-about.csv")
    _atomic_write(about, _csv_text(_about(report)))
    return written + [about]


def write(report: Report, path: Path, fmt: str) -> list[Path]:
    """Write `report` as `fmt` ("csv" or "json")."""
    if fmt == "json":
        return write_json(report, path)
    if fmt == "csv":
        return write_csv(report, path)
    raise ValueError(f"unknown report format {fmt!r}: use csv or json")
