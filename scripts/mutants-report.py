#!/usr/bin/env python3
"""Rewrites the generated table of docs/mutants.md from the runs in target/mutants/<slice>/.

Usage: scripts/mutants-report.py RESULTS_DIR REPORT_MD

Between the markers `<!-- mutants:begin -->` and `<!-- mutants:end -->` it writes, per slice
found, the counts by outcome and every missed or timed-out mutant. Everything else in the
report (why a missed mutant is harmless, before/after figures) is written by hand.
"""

import sys
from pathlib import Path

BEGIN, END = "<!-- mutants:begin -->", "<!-- mutants:end -->"
OUTCOMES = ["caught", "missed", "timeout", "unviable"]


def lines(path: Path) -> list[str]:
    return [l for l in path.read_text().splitlines() if l.strip()] if path.exists() else []


def main(results: Path, report: Path) -> None:
    rows, details = [], []
    for slice_dir in sorted(p for p in results.iterdir() if (p / "mutants.out").is_dir()):
        out = slice_dir / "mutants.out"
        counts = {o: lines(out / f"{o}.txt") for o in OUTCOMES}
        tested = sum(len(counts[o]) for o in ["caught", "missed", "timeout"])
        score = f"{100 * len(counts['caught']) / tested:.1f} %" if tested else "-"
        rows.append(f"| {slice_dir.name} | " + " | ".join(str(len(counts[o])) for o in OUTCOMES) + f" | {score} |")
        for o in ["missed", "timeout"]:
            for m in counts[o]:
                details.append(f"- {slice_dir.name}, {o}: `{m}`")
    table = [
        "| slice | caught | missed | timed out | unviable | caught of tested |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        *(details or ["No mutant was missed or timed out."]),
    ]
    text = report.read_text() if report.exists() else f"# Mutation testing\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        sys.exit(f"{report} has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    report.write_text(head + BEGIN + "\n" + "\n".join(table) + "\n" + END + tail)
    print(f"wrote {len(rows)} slices to {report}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
