"""Use cases of the registry: rules, validation, transactions and DataLoaders."""
