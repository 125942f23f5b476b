"""Settings that cannot work together are refused at start-up."""

import pytest
from pydantic import ValidationError

from server.settings import Settings


def test_a_lease_shorter_than_an_attempt_is_refused() -> None:
    with pytest.raises(ValidationError, match="must exceed the attempt timeout"):
        Settings(webhook_timeout_seconds=10, webhook_lease_seconds=5)


def test_the_retry_schedule_comes_from_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELREG_WEBHOOK_RETRY_SCHEDULE", "[1, 2.5]")
    config = Settings().delivery_config()
    assert config.retry_schedule == (1.0, 2.5)
    assert config.max_attempts == 3
    assert config.lease_seconds == 2 * 10 + 30
