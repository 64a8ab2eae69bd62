"""gateway: the stateless HTTP edge (JSON under /api/v1)."""
