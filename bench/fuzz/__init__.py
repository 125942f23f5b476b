"""`make fuzz`: schemathesis's GraphQL fuzzer against a real, seeded `modelreg serve`.

Counts the responses that carry `INTERNAL_SERVER_ERROR` (or an HTTP 5xx) and
the "unexpected error" tracebacks in the server's log; the goal is zero.
"""
