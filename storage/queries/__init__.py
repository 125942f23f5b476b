"""All SQL of the registry, one module per table family. Callers own the transaction."""
