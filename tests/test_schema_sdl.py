"""schema/schema.graphql is the exported SDL; it must match the code."""

from schema.export import SDL_PATH, sdl


def test_exported_sdl_is_current() -> None:
    assert SDL_PATH.read_text() == sdl(), "schema.graphql is stale: run `make schema`"
