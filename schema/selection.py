"""What a field's selection asks for, so a resolver can read it together."""

from strawberry.types.nodes import SelectedField

from schema.types import Ctx


def selects_field(info: Ctx, name: str) -> bool:
    """Whether the field being resolved selects `name` directly (not through fragments).

    A hint for reading ahead only: a selection made through a fragment is
    still answered, by a separate read.
    """
    return any(
        isinstance(selection, SelectedField) and selection.name == name
        for field in info.selected_fields
        for selection in field.selections
    )
