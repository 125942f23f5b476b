"""What importing a model would change here: a pure comparison of source and target.

The import copies what the source holds and deletes nothing: tags, aliases
and versions that only this registry has stay as they are. A version that
exists on both sides must be the same version (source, run id and logged
model id are immutable); anything else is a conflict that refuses the model.
The run link is copied with a new version and not compared (a link, not an identity).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from resolvers import limits
from resolvers.errors import Conflict
from resolvers.imports.source import ImportedModel, ImportedVersion
from resolvers.imports.target import TargetState
from storage.enums import Stage
from storage.records import VersionRecord


@dataclass(frozen=True, slots=True)
class VersionChange:
    """An existing version's mutable fields that differ: a new description, tags to set."""

    version: int
    description: str | None
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ModelPlan:
    source: ImportedModel
    creates_model: bool
    # The model's new description (None: unchanged) and the tags to set on it.
    description: str | None
    tags: tuple[tuple[str, str], ...]
    new_versions: tuple[ImportedVersion, ...]
    version_changes: tuple[VersionChange, ...]
    # (version, stage), in the order to make them: PRODUCTION last, so nothing that
    # the source keeps elsewhere is archived on the way.
    stage_moves: tuple[tuple[int, Stage], ...]
    # (alias, version) to set, and how many of them do not exist here yet.
    alias_moves: tuple[tuple[str, int], ...]
    aliases_created: int
    # A PRODUCTION version here that the source does not hold, archived by the import.
    displaced: int | None
    conflicts: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def versions_updated(self) -> int:
        created = {v.version for v in self.new_versions}
        moved = {number for number, _ in self.stage_moves if number not in created}
        return len(moved | {c.version for c in self.version_changes})

    @property
    def versions_unchanged(self) -> int:
        return len(self.source.versions) - len(self.new_versions) - self.versions_updated

    @property
    def aliases_moved(self) -> int:
        return len(self.alias_moves) - self.aliases_created

    @property
    def aliases_unchanged(self) -> int:
        return len(self.source.aliases) - len(self.alias_moves)

    @property
    def model_updated(self) -> bool:
        """The model itself changed (a new description or tags), not only its versions."""
        return not self.creates_model and (self.description is not None or bool(self.tags))

    @property
    def changed(self) -> bool:
        return bool(
            self.creates_model
            or self.model_updated
            or self.new_versions
            or self.version_changes
            or self.stage_moves
            or self.alias_moves
        )

    def check(self) -> None:
        """CONFLICT, naming every conflicting version, when the model cannot be imported."""
        if self.conflicts:
            name = self.source.name
            raise Conflict(
                f"model {name!r} conflicts with what this registry holds: "
                + "; ".join(self.conflicts),
                model=name,
            )


def settled_stages(source: ImportedModel) -> tuple[dict[int, Stage], list[str]]:
    """Each version's stage here: MLflow allows several in Production, this registry one.

    The newest (the highest number, the one MLflow serves as `models:/NAME/Production`)
    stays PRODUCTION and the others become ARCHIVED, with a note saying so.
    """
    stages = {v.version: v.stage for v in source.versions}
    in_production = sorted(n for n, stage in stages.items() if stage == Stage.PRODUCTION)
    if len(in_production) <= 1:
        return stages, []
    *older, newest = in_production
    for number in older:
        stages[number] = Stage.ARCHIVED
    listed = ", ".join(str(n) for n in in_production)
    note = (
        f"MLflow holds versions {listed} in Production; version {newest} is imported as "
        f"PRODUCTION, {_numbers(older)} as ARCHIVED"
    )
    return stages, [note]


def plan_model(source: ImportedModel, target: TargetState) -> ModelPlan:
    stages, notes = settled_stages(source)
    conflicts: list[str] = []
    new_versions: list[ImportedVersion] = []
    changes: list[VersionChange] = []
    for version in source.versions:
        held = target.versions.get(version.version)
        if held is None:
            if target.model is not None and version.version <= target.counter:
                conflicts.append(
                    f"version {version.version} was deleted here, and a number is never "
                    "given out again"
                )
            else:
                new_versions.append(version)
            continue
        mismatch = _immutable_mismatch(version, held)
        if mismatch:
            conflicts.append(f"version {version.version} differs in {mismatch}")
            continue
        held_tags = target.version_tags.get(version.version, {})
        change = VersionChange(
            version.version,
            version.description if version.description != held.description else None,
            _tags_to_set(version.tags, held_tags),
        )
        if change.description is not None or change.tags:
            changes.append(change)
    moves = _stage_moves(stages, target)
    aliases = tuple(
        (alias, number) for alias, number in source.aliases if target.aliases.get(alias) != number
    )
    displaced = _displaced(target, stages, moves)
    if displaced is not None:
        notes.append(
            f"version {displaced}, PRODUCTION here and not in MLflow, is archived: "
            "MLflow's Production version takes its place"
        )
    model_tags = _tags_to_set(source.tags, target.tags)
    return ModelPlan(
        source=source,
        creates_model=target.model is None,
        description=(
            source.description
            if target.model is not None and source.description != target.model.description
            else None
        ),
        tags=model_tags,
        new_versions=tuple(new_versions),
        version_changes=tuple(changes),
        stage_moves=moves,
        alias_moves=aliases,
        aliases_created=sum(1 for alias, _ in aliases if alias not in target.aliases),
        displaced=displaced,
        conflicts=tuple(conflicts),
        notes=tuple(notes),
    )


def _immutable_mismatch(version: ImportedVersion, held: VersionRecord) -> str:
    """Which immutable fields differ ('' when none), each with both values."""
    differences = [
        f"{field} (here {here!r}, MLflow {wanted!r})"
        for field, here, wanted in (
            ("source", held.source, version.source),
            ("run id", held.run_id, version.run_id),
            ("logged model id", held.logged_model_id, version.logged_model_id),
        )
        if here != wanted
    ]
    return ", ".join(differences)


def _tags_to_set(
    wanted: tuple[tuple[str, str], ...], held: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    """The tags whose value differs here; BAD_USER_INPUT when they would be too many."""
    to_set = tuple((k, v) for k, v in wanted if held.get(k) != v)
    added = sum(1 for k, _ in to_set if k not in held)
    limits.at_most(len(held) + added, limits.TAGS_PER_OBJECT, "tags per model or version", "tags")
    return to_set


def _stage_moves(stages: dict[int, Stage], target: TargetState) -> tuple[tuple[int, Stage], ...]:
    moves = []
    for number, stage in sorted(stages.items()):
        held = target.versions.get(number)
        current = held.stage if held is not None else Stage.NONE
        if stage != current:
            moves.append((number, stage))
    # PRODUCTION last: by then the version it would archive has moved where MLflow keeps it.
    moves.sort(key=lambda move: move[1] == Stage.PRODUCTION)
    return tuple(moves)


def _displaced(
    target: TargetState, stages: dict[int, Stage], moves: tuple[tuple[int, Stage], ...]
) -> int | None:
    production = target.production
    promotes = any(stage == Stage.PRODUCTION for _, stage in moves)
    if production is None or not promotes or production.version in stages:
        return None
    return production.version


def _numbers(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"version {numbers[0]}"
    return "versions " + ", ".join(str(n) for n in numbers)
