
from einspection.nameko_glue import EventStore, HealthCheck, MetricsServer, rpc, subscribe

from . import notices


class NotifyService(HealthCheck):
    """Grade notices, grid notifications, publications and their channels."""
    name = "notify"

    metrics = MetricsServer()
    store = EventStore("NOTIFY_DATABASE_URL", "sqlite:///var/notify.db",
                       projections=[notices.metadata])

    @subscribe(notices.CONSUMER, ["einspection.grade.#"])
    def on_event(self, event):
        with self.store.begin() as conn:
            issued = notices.handle(conn, event)
        if issued is not None:
            self.store.committed()

    @rpc
    def list_notices(self, enterprise_id):
        with self.store.connect() as conn:
            return notices.list_for(conn, enterprise_id)
