"""What importing each model did (or, in a dry run, would do), and the sum of it all."""

from dataclasses import dataclass, field
from enum import StrEnum

from resolvers.errors import RegistryError
from resolvers.imports.plan import ModelPlan


class ModelStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class ModelOutcome:
    name: str
    status: ModelStatus
    versions_created: int = 0
    versions_updated: int = 0
    versions_unchanged: int = 0
    aliases_created: int = 0
    aliases_moved: int = 0
    aliases_unchanged: int = 0
    notes: tuple[str, ...] = ()
    # "CODE: message" when refused.
    refusal: str | None = None

    @staticmethod
    def of_plan(plan: ModelPlan) -> "ModelOutcome":
        if plan.creates_model:
            status = ModelStatus.CREATED
        elif plan.changed:
            status = ModelStatus.UPDATED
        else:
            status = ModelStatus.UNCHANGED
        return ModelOutcome(
            name=plan.source.name,
            status=status,
            versions_created=len(plan.new_versions),
            versions_updated=plan.versions_updated,
            versions_unchanged=plan.versions_unchanged,
            aliases_created=plan.aliases_created,
            aliases_moved=plan.aliases_moved,
            aliases_unchanged=plan.aliases_unchanged,
            notes=plan.notes,
        )

    @staticmethod
    def refused(name: str, reason: str) -> "ModelOutcome":
        return ModelOutcome(name=name, status=ModelStatus.REFUSED, refusal=reason)

    @staticmethod
    def of_error(name: str, error: RegistryError) -> "ModelOutcome":
        return ModelOutcome.refused(name, f"{error.code}: {error.message}")

    @property
    def changes(self) -> int:
        """Models, versions and aliases created or changed."""
        model = 1 if self.status in (ModelStatus.CREATED, ModelStatus.UPDATED) else 0
        return (
            model
            + self.versions_created
            + self.versions_updated
            + self.aliases_created
            + self.aliases_moved
        )


@dataclass(slots=True)
class ImportSummary:
    """The outcomes of one run, in the order the models were imported."""

    outcomes: list[ModelOutcome] = field(default_factory=list)

    def add(self, outcome: ModelOutcome) -> None:
        self.outcomes.append(outcome)

    def models(self, status: ModelStatus) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def total(self, counter: str) -> int:
        """The sum of one ModelOutcome count (`versions_created`, ...) over every model."""
        return sum(int(getattr(o, counter)) for o in self.outcomes)

    @property
    def changes(self) -> int:
        return sum(o.changes for o in self.outcomes)

    @property
    def refused(self) -> list[ModelOutcome]:
        return [o for o in self.outcomes if o.status == ModelStatus.REFUSED]
