import os

from einspection import days
from einspection.acting import Acting, checked_command_id, new_command_id
from einspection.contract import load_command, utcnow
from einspection import scope as tenancy
from einspection.errors import NotFound
from einspection.nameko_glue import (EventStore, HealthCheck, MetricsServer, rpc, setting,
                                      subscribe, timer)

from . import clock, projection, rankings
from .rules import load_rules
from .schemas import AdvanceClock, DistributionQuery, ExcellentQuery, RankingQuery, ScoreQuery

SUBSCRIBED = ["einspection.enterprise.#", "einspection.hazard.#", "einspection.inspection.#",
              "einspection.safety-action.#", "einspection.position.registered.v1",
              # a position's checklists changed, or it was retired: the coverage
              "einspection.position.updated.v1", "einspection.position.retired.v1",
              # enforcement: overdue abatement counts under rule set 2026.3
              "einspection.case.abatement-overdue.v1",
              "einspection.case.citation-withdrawn.v1",
              # scheduled rounds done or missed count under rule set 2026.4
              "einspection.schedule.round-done.v1", "einspection.schedule.round-missed.v1"]
CLOCK_CHECK_SECONDS = float(os.environ.get("SCORING_CLOCK_CHECK_SECONDS") or 300)


class ScoringService(HealthCheck):
    """Rolling three-month projections, grades and rankings."""
    name = "scoring"

    metrics = MetricsServer()
    store = EventStore("SCORING_DATABASE_URL", "sqlite:///var/scoring.db",
                       projections=[projection.metadata])

    @property
    def rules(self):
        return load_rules(setting({}, "SCORING_RULES"))

    # what the broker has delivered, up to 200 events, in one transaction
    @subscribe(projection.CONSUMER, SUBSCRIBED, batch=200)
    def on_events(self, events):
        with self.store.begin() as conn:
            grade_events = projection.handle_batch(conn, events, self.rules)
        if grade_events:
            self.store.committed()

    # --- the clock: the window slides daily, a statement monthly --------------------
    @timer(interval=CLOCK_CHECK_SECONDS)
    def check_clock(self):
        self._step_clock(days.local_day(utcnow(), days.deployment_zone()))

    @rpc
    def advance_clock(self, day, command_id=None):
        """An operator's command: step the clock to `day` (YYYY-MM-DD; a day
        not after the clock's only finishes what is left to do) and catch up.
        With a `command_id`, a repeat of it answers what the first did and
        does nothing (einspection.journal); every effect is once anyway (the
        step is one per day, catching up and statements only do what is left)."""
        day = load_command(AdvanceClock, {"day": day})["day"]
        acting = Acting("scoring", command_id=checked_command_id(command_id) or new_command_id())
        # the steps commit on their own (one enterprise per transaction); the
        # journal row, in the last transaction, keeps the outcome
        return self.store.command(acting, "advance_clock", [day.isoformat()]).run(
            lambda conn, outcome: outcome, prepare=lambda: self._step_clock(day))

    def _step_clock(self, day):
        outcome = clock.step(self.store, self.rules, day)
        if outcome["grades_assigned"] or outcome["statements"]:
            self.store.committed()
        return outcome

    # --- reads ------------------------------------------------------------------------
    @rpc
    def score(self, enterprise_id, as_of=None, scope=None, actor=""):
        tenancy.require(scope, enterprise_id, "score of enterprise", enterprise_id, actor)
        with self.store.connect() as conn:
            if as_of is None:
                view = projection.score_view(conn, enterprise_id)
                if view is None:
                    raise NotFound("score of enterprise", enterprise_id)
                return view
            day = load_command(ScoreQuery, {"as_of": as_of})["as_of"]
            view = projection.evaluate(conn, self.rules, enterprise_id, day)
            view["enterprise_id"] = enterprise_id
            return view

    @rpc
    def ranking(self, query, scope=None):
        query = dict(load_command(RankingQuery, query), scope=scope)
        with self.store.connect() as conn:
            return rankings.rankings(conn, query)

    @rpc
    def excellent_performers(self, query, scope=None):
        query = dict(load_command(ExcellentQuery, query), scope=scope)
        with self.store.connect() as conn:
            return rankings.excellent(conn, self.rules, query)

    @rpc
    def grade_distribution(self, query, scope=None):
        query = dict(load_command(DistributionQuery, query), scope=scope)
        with self.store.connect() as conn:
            return rankings.distribution(conn, self.rules, query)
