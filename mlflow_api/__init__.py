"""The MLflow Model Registry REST API (/api/2.0/mlflow/...), served by modelreg.

A door, not a room of rules: each module maps MLflow's requests, responses
and error bodies onto the use cases in resolvers/, which authorize, validate,
audit, record history and publish events exactly as they do for GraphQL.
`endpoint` authenticates and routes, `registered_models`, `model_versions` and
`transition_requests` handle the calls, `filters` and `ordering` parse search
arguments, `shapes` writes MLflow's JSON, `errors` its error bodies.
"""
