"""The platform core every E-inspection service imports: the event contract,
the event store with its outbox, the outbox relay, consumer tracking and the
bus wiring. Nothing here imports nameko except `nameko_glue`."""
