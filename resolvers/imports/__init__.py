"""Copying another registry (MLflow's) into this one: what is copied, the plan, the writes.

A door reads the other registry into `ImportedModel`s; `import_model` turns
each into a plan against what this registry holds and writes it in one
transaction per model, through the same rules, events and audit rows as
every other change.
"""
