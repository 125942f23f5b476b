"""SQL storage: tables, engines, queries and migrations. Knows nothing of GraphQL or HTTP."""
