"""The ``ping`` RPC every service answers, used by the gateway's ``/readyz``."""

from crm.errors import ServiceUnavailable
from crm.rpc import rpc


class Pingable:
    name: str

    @rpc
    def ping(self) -> dict[str, str]:
        """Answer at once; proves the service consumes its queue and can admit callers
        (it knows which accesses were revoked)."""
        caller = getattr(self, "caller", None)
        if caller is not None and not caller.ready:
            raise ServiceUnavailable(f"{self.name} does not know yet which accesses were revoked")
        return {"service": self.name, "status": "ok"}
