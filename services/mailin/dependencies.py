"""mailin's dependency providers: a timer whose interval comes from the settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nameko.timer import Timer

from crm.settings import Settings


class ConfiguredTimer(Timer):
    """nameko's timer, its interval read from the settings at start-up (not fixed at import)."""

    def __init__(self, interval_of: Callable[[Settings], float], **kwargs: Any):
        super().__init__(interval=1.0, **kwargs)
        self.interval_of = interval_of

    def setup(self) -> None:
        self.interval = self.interval_of(self.container.config["CRM"])
        super().setup()


configured_timer = ConfiguredTimer.decorator
