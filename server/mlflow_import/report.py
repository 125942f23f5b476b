"""The summary printed after an import: counts, notes and refusals, as text or JSON."""

from typing import Any

from resolvers.imports.outcome import ImportSummary, ModelStatus

_COUNTS = {
    "versions": ("created", "updated", "unchanged"),
    "aliases": ("created", "moved", "unchanged"),
}


def as_json(summary: ImportSummary, *, origin: str, dry_run: bool) -> dict[str, Any]:
    return {
        "origin": origin,
        "dryRun": dry_run,
        "models": {status.value: summary.models(status) for status in ModelStatus},
        **{
            kind: {count: summary.total(f"{kind}_{count}") for count in counts}
            for kind, counts in _COUNTS.items()
        },
        "changed": summary.changes,
        "notes": [{"model": o.name, "note": note} for o in summary.outcomes for note in o.notes],
        "refused": [{"model": o.name, "reason": o.refusal} for o in summary.refused],
    }


def as_text(summary: ImportSummary, *, origin: str, dry_run: bool) -> str:
    report = as_json(summary, origin=origin, dry_run=dry_run)
    if dry_run:
        lines = [f"Dry run against {origin}: nothing was written; an import would do this."]
    else:
        lines = [f"Imported from {origin}."]
    for kind in ("models", "versions", "aliases"):
        counts = ", ".join(f"{number} {name}" for name, number in report[kind].items())
        lines.append(f"{kind + ':':<10}{counts}")
    lines.extend(f"note: {n['model']}: {n['note']}" for n in report["notes"])
    lines.extend(f"refused: {r['model']}: {r['reason']}" for r in report["refused"])
    verb = "would change" if dry_run else "changed"
    lines.append(f"{report['changed']} {verb}")
    return "\n".join(lines)
