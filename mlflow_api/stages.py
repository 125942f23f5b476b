"""Stage names as MLflow writes them: `None`, `Staging`, `Production`, `Archived`, any case."""

from resolvers.errors import BadUserInput
from storage.enums import Stage

_BY_NAME = {stage.value.lower(): stage for stage in Stage}


def stage_of(name: str, field: str = "stage") -> Stage:
    found = _BY_NAME.get(name.lower())
    if found is None:
        raise BadUserInput(
            f"Invalid Model Version stage: {name[:100]}. Value must be one of None, Staging, "
            "Production, Archived.",
            field=field,
        )
    return found
