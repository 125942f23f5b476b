"""What every cross-process wake-up source is: PostgreSQL NOTIFY, inotify on SQLite's WAL.

`listen(wake)` starts calling `wake()` (on the event loop, never blocking)
each time another process may have committed something, and returns an
async `stop`. A wake-up is a hint, never the truth: whoever is woken reads
the database.
"""

from collections.abc import Awaitable, Callable

Wake = Callable[[], None]
Stop = Callable[[], Awaitable[None]]
Listen = Callable[[Wake], Awaitable[Stop]]
