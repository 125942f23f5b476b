"""What a server process shares between requests for webhooks.

The configuration, the secret box, a sender for `testWebhook`, and the
in-process wake-up of the dispatcher that requests call after they commit events.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from webhooks.config import DeliveryConfig
from webhooks.sealing import SecretBox
from webhooks.sender import Sender


def _nothing() -> None:
    return None


@dataclass
class WebhookRuntime:
    config: DeliveryConfig = field(default_factory=DeliveryConfig)
    wake: Callable[[], None] = _nothing
    box: SecretBox = field(init=False)
    _sender: Sender | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.box = SecretBox(self.config.secret_keys)

    @property
    def sender(self) -> Sender:
        if self._sender is None:
            self._sender = Sender(
                allow_private_networks=self.config.allow_private_networks,
                timeout_seconds=self.config.timeout_seconds,
            )
        return self._sender

    async def aclose(self) -> None:
        if self._sender is not None:
            await self._sender.aclose()
