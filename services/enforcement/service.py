import json
import os

from einspection import files, imports
from einspection.acting import Acting
from einspection.contract import load_command, utcnow
from einspection.days import deployment_zone
from einspection.nameko_glue import EventStore, HealthCheck, MetricsServer, rpc, subscribe, timer

from . import campaigns, case_commands, commands, facts, records, statistics
from .campaigns import require_authority
from .cases import CLOCK_SKEW, DEFAULT_VIOLATION_CLASSES, case_view, violation_classes
from .schemas import (AssignInspectors, CampaignQuery, CaseQuery, DrawTargets, OpenCampaign,
                      RecordEstablishment)

ZONE = deployment_zone()
# read at start: a bad setting or rule file stops the service instead of its first command
MIN_RANDOM_SHARE = campaigns.min_random_share(
    os.environ.get("ENFORCEMENT_MIN_RANDOM_SHARE") or campaigns.DEFAULT_MIN_RANDOM_SHARE)
VIOLATION_CLASSES = violation_classes(
    os.environ.get("ENFORCEMENT_VIOLATION_CLASSES") or DEFAULT_VIOLATION_CLASSES)
# how often to look for citations past their abatement day (the hazard service's
# overdue check has the same default)
ABATEMENT_CHECK_SECONDS = float(os.environ.get("ENFORCEMENT_ABATEMENT_CHECK_SECONDS") or 60)
ATTEMPTS = 3          # a command that meets a concurrent append to its stream tries again


class EnforcementService(HealthCheck):
    """The authority's law enforcement: campaigns with their verifiable draws
    of targets and inspectors, and cases with citations, fines and payments.
    A service of its own (README): its own data — campaigns, draw records,
    cases, money — its own lifecycle and legal accountability."""
    name = "enforcement"

    metrics = MetricsServer()
    store = EventStore("ENFORCEMENT_DATABASE_URL", "sqlite:///var/enforcement.db",
                       projections=[facts.metadata, records.metadata])

    # --- campaigns (the authority's; the aggregate checks the role too) -------------------
    # `acting` (einspection.acting, as a dict) is the account acting and its
    # scope; its command id makes a repeat answer as the first time.
    def _campaign(self, acting, name, request, action):
        return self.store.command(acting, name, request).run(
            lambda conn: campaigns.view(action(conn)), attempts=ATTEMPTS)

    @rpc
    def open_campaign(self, payload, acting):
        acting = Acting.from_dict(acting)
        command = load_command(OpenCampaign, payload)
        return self._campaign(acting, "open_campaign", [payload], lambda conn: (
            commands.open_campaign(conn, command, acting, now=utcnow(),
                                   min_share=MIN_RANDOM_SHARE)))

    @rpc
    def commit_candidates(self, campaign_id, inspectors, acting):
        """`inspectors`: the authority's inspector accounts' usernames, as the
        register (the checklist service) lists them: the pool, fixed with
        the candidates."""
        acting = Acting.from_dict(acting)
        return self._campaign(acting, "commit_candidates", [campaign_id, inspectors],
                              lambda conn: commands.commit_candidates(
                                  conn, campaign_id, list(inspectors), acting, now=utcnow(),
                                  zone=ZONE))

    @rpc
    def draw_targets(self, campaign_id, payload, acting):
        acting = Acting.from_dict(acting)
        command = load_command(DrawTargets, payload)
        return self._campaign(acting, "draw_targets", [campaign_id, payload], lambda conn: (
            commands.draw_targets(conn, campaign_id, command, acting, now=utcnow())))

    @rpc
    def assign_inspectors(self, campaign_id, payload, acting):
        acting = Acting.from_dict(acting)
        load_command(AssignInspectors, payload)
        return self._campaign(acting, "assign_inspectors", [campaign_id, payload], lambda conn: (
            commands.assign_inspectors(conn, campaign_id, acting, now=utcnow())))

    @rpc
    def get_campaign(self, campaign_id):
        with self.store.connect() as conn:
            return campaigns.view(commands.load_campaign(conn, campaign_id))

    @rpc
    def list_campaigns(self, query):
        query = load_command(CampaignQuery, query)
        with self.store.connect() as conn:
            return records.campaign_page(conn, query)

    @rpc
    def campaign_candidates(self, campaign_id):
        with self.store.connect() as conn:
            return commands.candidates(conn, campaign_id, now=utcnow(), zone=ZONE)

    @rpc
    def draw_record(self, campaign_id):
        """The draw record as a JSON file, for the offline check
        (python -m services.enforcement.verify_draw FILE)."""
        with self.store.connect() as conn:
            record = commands.draw_record(conn, campaign_id)
        text = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        return files.pack(text.encode("utf-8"), "application/json",
                          "draw-%s.json" % campaign_id)

    @rpc
    def verify_draw(self, campaign_id):
        with self.store.connect() as conn:
            return commands.verify_draw(conn, campaign_id)

    # --- cases ------------------------------------------------------------------------------
    def _case_command(self, name, payload, acting, *, now, answer=None):
        """Case command `name`; the case is found in the acting scope first
        (another tenant's is a 404), then the authority's role is required."""
        def execute(conn):
            case = commands.case_command(conn, name, payload, acting, now=now,
                                         classes=VIOLATION_CLASSES, zone=ZONE,
                                         check=lambda: require_authority(acting, "cases"))
            return answer(case) if answer else case_view(case, VIOLATION_CLASSES, ZONE)
        return self.store.command(acting, name, [payload]).run(execute, attempts=ATTEMPTS)

    def _on_case(self, name, case_id, payload, acting):
        body = dict(payload, case_id=case_id) if isinstance(payload, dict) else payload
        return self._case_command(name, body, Acting.from_dict(acting), now=utcnow())

    @rpc
    def open_case(self, payload, acting):
        """The case of an enforcement inspection {enterprise_id, inspection_id,
        campaign_id}: the gateway takes them from the inspection itself."""
        return self._case_command("open_case", payload, Acting.from_dict(acting), now=utcnow())

    @rpc
    def issue_citation(self, case_id, payload, acting):
        return self._on_case("issue_citation", case_id, payload, acting)

    @rpc
    def withdraw_citation(self, case_id, payload, acting):
        return self._on_case("withdraw_citation", case_id, payload, acting)

    @rpc
    def decide_penalty(self, case_id, payload, acting):
        return self._on_case("decide_penalty", case_id, payload, acting)

    @rpc
    def record_payment(self, case_id, payload, acting):
        return self._on_case("record_payment", case_id, payload, acting)

    @rpc
    def abate_citation(self, case_id, payload, acting):
        return self._on_case("abate_citation", case_id, payload, acting)

    @rpc
    def close_case(self, case_id, payload, acting):
        return self._on_case("close_case", case_id, payload, acting)

    @rpc
    def get_case(self, case_id, scope=None, actor=""):
        with self.store.connect() as conn:
            return case_view(commands.load_case(conn, case_id, scope, actor), VIOLATION_CLASSES,
                             ZONE)

    @rpc
    def list_violation_classes(self):
        """The classes a citation may have, as this deployment configured them
        (ENFORCEMENT_VIOLATION_CLASSES), in the file's order."""
        return {"version": VIOLATION_CLASSES.version,
                "classes": [dict(labels, key=key)
                            for key, labels in VIOLATION_CLASSES.labels.items()]}

    @rpc
    def list_cases(self, query, scope=None):
        query = load_command(CaseQuery, query)
        with self.store.connect() as conn:
            return records.case_page(conn, query, scope)

    @rpc
    def enforcement_statistics(self, query, scope=None):
        """The authority's figures (statistics.py); money as int minor units."""
        query = load_command(statistics.EnforcementStatisticsQuery, query)
        with self.store.connect() as conn:
            return statistics.enforcement_statistics(conn, query, VIOLATION_CLASSES, ZONE,
                                                     scope)

    # --- records from before (einspection/imports.py) ---------------------------------
    @rpc
    def import_records(self, payload):
        """A regulator's enforcement records (services/enforcement/osha.py):
        the case commands at each record's time, by each record's account,
        plus `record_establishment` for an inspected establishment outside
        the register. Each answers a summary of what it touched."""
        def case_record(name):
            return lambda body, acting, now: self._case_command(
                name, body, acting, now=now, answer=_case_summary)
        handlers = {name: case_record(name) for name in case_commands.NAMES}
        handlers["record_establishment"] = self._record_establishment
        outcome = imports.run(self.store, payload, handlers, now=utcnow(), skew=CLOCK_SKEW)
        self.store.committed()
        return outcome

    def _record_establishment(self, body, acting, *, now):
        command = load_command(RecordEstablishment, body)

        def execute(conn):
            return commands.record_establishment(conn, command, acting, now=now)
        return self.store.command(acting, "record_establishment", [body]).run(
            execute, attempts=ATTEMPTS)

    # Overdue abatement is this service's event (CitationAbatementOverdue), as
    # HazardOverdue is the hazard service's: the citation, its day and whether
    # it still stands are the case's state, its stream's version makes the
    # mark once across replicas, and notify and scoring consume the one event.
    @timer(interval=ABATEMENT_CHECK_SECONDS)
    def check_abatement(self):
        if commands.mark_abatement_overdue(self.store, utcnow(), ZONE):
            self.store.committed()

    # --- what other services record ------------------------------------------------------
    @subscribe(facts.CONSUMER, facts.SUBSCRIBED, batch=200)
    def on_events(self, events):
        appended = False
        with self.store.begin() as conn:
            for event in events:
                appended |= bool(commands.handle(conn, event, ZONE, now=utcnow()))
        if appended:
            self.store.committed()


def _case_summary(case):
    return {"case_id": case.id, "status": case.state, "version": case.version}

