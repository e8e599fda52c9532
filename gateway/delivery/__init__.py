"""Delivery to other systems: the outbox, its worker, retries and dead letters."""
