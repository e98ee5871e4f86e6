"""A scenario's result: a table on stdout, JSON and a PNG chart under bench/results/."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100), nearest rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Row:
    """One measured figure: roomkeeper's, each baseline's beside it, and the target."""

    metric: str
    roomkeeper: float | None
    target: str = ""
    met: bool | None = None
    baselines: dict[str, float | None] = field(default_factory=dict)
    note: str = ""


@dataclass
class Result:
    scenario: str
    command: str
    params: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def add(
        self, metric: str, value: float | None, target: str = "", met: bool | None = None, **kw: Any
    ) -> None:
        self.rows.append(Row(metric, value, target, met, **kw))

    def table(self) -> str:
        names = sorted({name for row in self.rows for name in row.baselines})
        header = ["metric", "roomkeeper", *names, "target", "met"]
        lines = [header]
        for row in self.rows:
            lines.append(
                [
                    row.metric,
                    _fmt(row.roomkeeper),
                    *(_fmt(row.baselines.get(name)) for name in names),
                    row.target,
                    {True: "yes", False: "NO", None: ""}[row.met],
                ]
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = [
            " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines
        ]
        out.insert(1, "-+-".join("-" * width for width in widths))
        return "\n".join(out)

    def write(self) -> tuple[Path, Path]:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stem = RESULTS / self.scenario
        document = {
            "scenario": self.scenario,
            "command": self.command,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cores": os.cpu_count(),
                "python": platform.python_version(),
                "system": platform.platform(),
            },
            "params": self.params,
            "rows": [asdict(row) for row in self.rows],
            "raw": self.raw,
        }
        json_path = stem.with_suffix(".json")
        json_path.write_text(json.dumps(document, indent=2, default=str))
        png_path = stem.with_suffix(".png")
        self.chart(png_path)
        return json_path, png_path

    def chart(self, path: Path) -> None:
        """One panel per figure: roomkeeper beside each baseline, the target as a dashed line."""
        try:
            import matplotlib  # type: ignore[import-not-found,unused-ignore]

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt  # type: ignore[import-not-found,unused-ignore]
        except ImportError:  # the optional `bench` extra: the table and JSON still stand
            print("matplotlib is not installed (pip install -e '.[bench]'): no chart")
            return
        rows = [row for row in self.rows if row.roomkeeper is not None and not math.isnan(row.roomkeeper)]
        if not rows:
            return
        columns = min(3, len(rows))
        lines = math.ceil(len(rows) / columns)
        figure, axes = plt.subplots(lines, columns, figsize=(4.2 * columns, 3.2 * lines), squeeze=False)
        for axis in axes.flat[len(rows) :]:
            axis.set_visible(False)
        for axis, row in zip(axes.flat, rows, strict=False):
            labels = ["roomkeeper", *row.baselines]
            values = [row.roomkeeper, *row.baselines.values()]
            shown = [0.0 if v is None or math.isnan(v) else v for v in values]
            colours = ["tab:green" if row.met in (True, None) else "tab:red"] + ["tab:gray"] * len(
                row.baselines
            )
            axis.bar(labels, shown, color=colours)
            limit = _target_value(row.target)
            if limit is not None:
                axis.axhline(limit, color="black", linestyle="--", linewidth=1, label=row.target)
                axis.legend(fontsize=7)
            axis.set_title(row.metric, fontsize=8)
            axis.tick_params(axis="x", labelsize=7, rotation=15)
            if max(shown) > 0 and min(v for v in shown if v > 0) * 100 < max(shown):
                axis.set_yscale("log")
        figure.suptitle(f"{self.scenario} — {self.command}", fontsize=9)
        figure.tight_layout()
        figure.savefig(path, dpi=90)
        plt.close(figure)

    def print(self) -> None:
        print(f"\n== {self.scenario} ({self.command})")
        print(f"   {json.dumps(self.params)}\n")
        print(self.table())
        for row in self.rows:
            if row.note:
                print(f"   {row.metric}: {row.note}")


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{value:.0f}"


def _target_value(target: str) -> float | None:
    for token in target.replace("≤", " ").replace("≥", " ").split():
        try:
            return float(token)
        except ValueError:
            continue
    return None
