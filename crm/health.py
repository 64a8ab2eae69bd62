"""The ``ping`` RPC every service answers, used by the gateway's ``/readyz``."""

from crm.rpc import rpc


class Pingable:
    name: str

    @rpc
    def ping(self) -> dict[str, str]:
        """Answer at once; proves the service consumes its queue."""
        return {"service": self.name, "status": "ok"}
