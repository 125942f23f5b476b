"""Live reads of the event log: one hub per process, subscriptions, sessions, URI watches."""
