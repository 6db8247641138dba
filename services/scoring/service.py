from datetime import date

from einspection.errors import InvalidCommand, NotFound
from einspection.nameko_glue import EventStore, HealthCheck, MetricsServer, rpc, setting, subscribe

from . import projection
from .rules import load_rules

SUBSCRIBED = ["einspection.enterprise.#", "einspection.hazard.#", "einspection.inspection.#",
              "einspection.safety-action.#", "einspection.position.registered.v1"]


class ScoringService(HealthCheck):
    """Rolling three-month projections, grades and rankings."""
    name = "scoring"

    metrics = MetricsServer()
    store = EventStore("SCORING_DATABASE_URL", "sqlite:///var/scoring.db",
                       projections=[projection.metadata])

    @property
    def rules(self):
        return load_rules(setting({}, "SCORING_RULES"))

    @subscribe(projection.CONSUMER, SUBSCRIBED)
    def on_event(self, event):
        with self.store.begin() as conn:
            grade_event = projection.handle(conn, event, self.rules)
        if grade_event is not None:
            self.store.committed()

    @rpc
    def score(self, enterprise_id, as_of=None):
        with self.store.connect() as conn:
            if as_of is None:
                view = projection.score_view(conn, enterprise_id)
                if view is None:
                    raise NotFound("score of enterprise", enterprise_id)
                return view
            try:
                day = date.fromisoformat(as_of)
            except (TypeError, ValueError):
                raise InvalidCommand({"as_of": ["must be a date, YYYY-MM-DD"]}) from None
            view = projection.evaluate(conn, self.rules, enterprise_id, day)
            view["enterprise_id"] = enterprise_id
            return view
