"""Process concerns: settings, the FastAPI app, HTTP endpoints and the CLI."""
