"""The OpenAPI 3 document of the gateway, served at /openapi.json.

One table, ROUTES, says for every `@http` route of GatewayService (by method
and werkzeug path, exactly as declared) what it takes and answers: the
services' own marshmallow schemas for bodies and queries (the ones that
validate them), the gateway's PathParameters for path parameters, and the
response schemas of `openapi_views`. apispec's MarshmallowPlugin turns them
into the document. tests/test_openapi.py fails when a route is missing from
the table or the table names a route that does not exist, and runs
schemathesis against the served document."""
import re
from dataclasses import dataclass

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from nameko.web.handlers import HttpRequestHandler

from einspection import auth, schemadoc
from services.checklist import schemas as checklist
from services.enforcement import schemas as enforcement
from services.hazard import blobs
from services.hazard import schemas as hazard
from services.notify import schemas as notify
from services.scoring import schemas as scoring

from . import openapi_views as views
from . import statistics
from .http_json import IDEMPOTENCY_KEY, MAX_BODY_BYTES, path_parameter_field

TITLE = "E-inspection API"
VERSION = "1"
JSON = "application/json"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY = {"type": "string", "format": "binary"}

# What an error status means, wherever it is documented.
ERROR_MEANINGS = {
    400: "invalid input: `error.fields` names each bad field (path, query or body) and why",
    401: "no valid bearer token (missing, expired, forged): log in at POST /api/v1/auth/token",
    403: "the account may not do this: its role, or a rule such as who may verify a hazard "
         "(another tenant's data is a 404, not a 403)",
    404: "not found (an unknown id)",
    405: "the path exists, not with this method",
    409: "it does not fit the current state (`error.current`), or it changed meanwhile",
    410: "gone for good: the QR code of a retired position",
    413: "the body is too large",
    422: "the Idempotency-Key was sent before with a different request (body, path or "
         "query): use a new key for a new request",
    429: "too many failed logins for this username or from this address: wait Retry-After "
         "seconds",
    503: "unavailable for now (the broker, a service or its database; `error.message` names "
         "it): try again after the Retry-After header's seconds",
}
# A command's 503: whether it was done is unknown to the client.
COMMAND_UNKNOWN_OUTCOME = (
    "unavailable for now, or a service did not answer in time (`error.message` says which): "
    "the command may have been done all the same. The answer's Idempotency-Key header (the "
    "client's own, or one the gateway made) and message say how to find out: after the "
    "Retry-After header's seconds, send the same request again with that key; if it was "
    "done, that answers what it answered, if not, it is done then, once")

IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header", "name": IDEMPOTENCY_KEY, "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    "description": "a key of the client's own for this request (1-255 printable ASCII "
                   "characters; a UUID is a good one): the same request again with the same key "
                   "within 24 hours answers what the first answered and does nothing again. "
                   "Keys are the account's own. Another request with a key already used is a "
                   "422."}
IDEMPOTENCY_KEY_HEADER = {
    "description": "the request's Idempotency-Key; on a 5xx without one, the key the gateway "
                   "made for it, to send the request again with",
    "schema": {"type": "string"}}


@dataclass(frozen=True)
class Operation:
    """One route as documented. `returns`: a schema of openapi_views (JSON) or
    {media type: description} for files; `body`: a request schema (JSON) or
    {media type: JSON schema} for other bodies; `conflicts`: it may answer 409."""
    summary: str
    tag: str
    returns: object = None
    status: int = 200
    body: object = None
    query: object = None
    conflicts: bool = False
    description: str = ""
    extra_errors: tuple = ()
    returns_description: str = "OK"
    operation_id: str = ""          # when one function serves two routes
    access_of: str = ""             # the route function whose @endpoint checks the caller
    other_answers: tuple = ()       # (status, description, {media type: schema}) beside the usual
    command: bool = None            # runs a command (Idempotency-Key); None: unless it is a GET

    def is_command(self, method, public):
        return not public and (self.command if self.command is not None else method != "GET")


def _files(*media_types):
    return {media_type: BINARY for media_type in media_types}


FIGURES = ("compare=previous_period|previous_year (with from and to) adds the compared "
           "period's figures (`previous`) and the differences of the counts (`change`) to "
           "each group and the totals; format=csv answers the same figures as a CSV file, "
           "previous_* and change_* columns beside.")
EXPORTED = (" Column titles are Chinese first, English beside; the names of the enterprise "
            "and the position stand beside their ids. CSV (UTF-8 with a BOM): instants in UTC "
            "with offset, the deployment's day beside, booleans by `lang`. XLSX: instants as "
            "datetime cells of the deployment's time zone (named in the title), days as date "
            "cells, counts and costs as numbers, booleans as booleans; header frozen, with an "
            "autofilter, columns fitted. Text starting with = + - @ stays text. `lang` other "
            "than zh or en: 400 naming `lang`.")
LEDGER_FILTERS = ("the standing book's filters and sort (as the list), every matching row "
                  "(up to 50,000; more is a 400 asking to narrow the filters)." + EXPORTED)
INSPECTION_EXPORT = ("the inspection ledger's filters and sort, every matching row (up to "
                     "10,000; more is a 400); the checklist's title beside its id." + EXPORTED)

ROUTES = {
    # --- the platform ------------------------------------------------------------------
    ("GET", "/health"): Operation(
        "every service's status and outbox backlog", "platform", views.Health,
        extra_errors=(503,), description="Every service is asked at once, with a deadline of "
                                         "1.5 s: 503 (with the same body, `down` naming what "
                                         "is down) when a service, its database or the "
                                         "broker is unavailable"),
    ("GET", "/health/live"): Operation(
        "liveness: this gateway process answers", "platform", views.Live,
        description="200 whenever the process and its event loop answer; nothing else is "
                    "asked (a Kubernetes liveness probe)"),
    ("GET", "/health/ready"): Operation(
        "readiness: this gateway can serve requests", "platform", views.Ready,
        extra_errors=(503,), description="503 (`down` naming it) when the broker every call "
                                         "goes over is unavailable; backend services that "
                                         "are down are listed in `degraded` with a 200, as "
                                         "their routes answer 503 on their own (a Kubernetes "
                                         "readiness probe)"),
    ("GET", "/metrics"): Operation(
        "Prometheus metrics of the gateway", "platform", {"text/plain": {"type": "string"}}),
    ("GET", "/openapi.json"): Operation(
        "this document", "platform", {JSON: {"type": "object"}}),
    ("GET", "/docs"): Operation(
        "the interactive documentation page", "platform", {"text/html": {"type": "string"}}),
    ("GET", "/asyncapi.json"): Operation(
        "the AsyncAPI 3.0 document of the event stream", "platform", {JSON: {"type": "object"}},
        description="The exchange, a channel per routing key (= event type), the CloudEvents "
                    "envelope and each event's `data` schema (docs/events.md)."),
    ("GET", "/docs/events"): Operation(
        "the event stream's documentation page (reads /asyncapi.json)", "platform",
        {"text/html": {"type": "string"}}),

    # --- accounts ------------------------------------------------------------------------
    ("POST", "/api/v1/auth/token"): Operation(
        "log in: a bearer token for a username and password", "accounts", views.Token,
        body=checklist.Login, extra_errors=(401, 429),
        description="401 for a wrong username or password, or a disabled account; usernames "
                    "are case-insensitive. After repeated failures for a username or from an "
                    "address: 429 with Retry-After (seconds), whatever the password. The token "
                    "expires (AUTH_TOKEN_TTL_SECONDS, 8 h by default); with a temporary "
                    "password, `account.must_change_password` is true and the token (15 min) "
                    "may only change the password."),
    ("POST", "/api/v1/auth/password"): Operation(
        "change one's own password (the current or temporary one, and a new one)", "accounts",
        views.Token, body=checklist.ChangePassword, extra_errors=(429,),
        description="400 names the rule the new password breaks, or a wrong old_password "
                    "(which counts as a failed login: 429 after several). Answers a new token "
                    "(tokens issued before stay valid until they expire)."),
    ("GET", "/api/v1/auth/me"): Operation(
        "the account of the token", "accounts", views.Principal),
    ("POST", "/api/v1/accounts"): Operation(
        "create an account", "accounts", views.Account, 201, body=checklist.CreateAccount,
        conflicts=True, description="An authority admin creates any account; an enterprise "
                                    "manager staff and managers of its own enterprise. An "
                                    "enterprise account's username is <the enterprise's "
                                    "account_prefix>.<name>, no other account's starts with "
                                    "an enterprise's prefix, and usernames are unique "
                                    "ignoring case (409). 400 names the password rule "
                                    "broken."),
    ("GET", "/api/v1/accounts"): Operation(
        "accounts (an enterprise manager: its enterprise's)", "accounts", views.AccountPage,
        query=checklist.AccountQuery),
    ("POST", "/api/v1/accounts/<string:account_id>/password-reset"): Operation(
        "reset an account's password to a one-time temporary one", "accounts",
        views.PasswordReset, conflicts=True,
        description="An authority admin any account's, an enterprise manager those of its "
                    "enterprise (another's is a 404). The account must change it at its next "
                    "login. Resetting one's own is a 409 (change it instead)."),
    ("POST", "/api/v1/accounts/<string:account_id>/disable"): Operation(
        "disable an account: it can no longer log in", "accounts", views.Account,
        body=checklist.DisableAccount, conflicts=True,
        description="Disabling one's own account is a 409."),

    # --- the register ------------------------------------------------------------------
    ("POST", "/api/v1/enterprises"): Operation(
        "register an enterprise", "register", views.Enterprise, 201,
        body=checklist.RegisterEnterprise, conflicts=True,
        description="The credit code's check character is verified; a registered code is "
                    "409, and so is an account prefix that is another enterprise's or that "
                    "accounts' usernames already start with."),
    ("GET", "/api/v1/enterprises"): Operation(
        "the register", "register", views.EnterprisePage, query=checklist.EnterpriseQuery),
    ("GET", "/api/v1/enterprises/<string:enterprise_id>"): Operation(
        "one enterprise", "register", views.Enterprise),

    # --- scoring -----------------------------------------------------------------------
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/score"): Operation(
        "an enterprise's score: points, grade, window and each indicator", "scoring",
        views.Score, query=scoring.ScoreQuery,
        description="404 also when nothing about the enterprise was recorded yet."),
    ("GET", "/api/v1/rankings"): Operation(
        "best or worst scores, overall or by town or industry", "scoring", views.Ranking,
        query=scoring.RankingQuery,
        description="A top list (`limit`), not pages: equal points go by name, then id."),
    ("GET", "/api/v1/rankings/excellent"): Operation(
        "the enterprises holding the top grade", "scoring", views.Excellent,
        query=scoring.ExcellentQuery),
    ("GET", "/api/v1/grades/distribution"): Operation(
        "how many enterprises hold each grade", "scoring", views.Distribution,
        query=scoring.DistributionQuery),

    # --- checklists --------------------------------------------------------------------
    ("POST", "/api/v1/checklists"): Operation(
        "create a checklist (draft version 1)", "checklists", views.Checklist, 201,
        body=checklist.CreateChecklist),
    ("POST", "/api/v1/checklists/import"): Operation(
        "import a grading standard (CSV) as a universal checklist", "checklists",
        views.Checklist, 201, body={CSV: {"type": "string", "maxLength": MAX_BODY_BYTES}},
        query=checklist.ImportChecklist,
        description="The body is the CSV (UTF-8, at most 1 MiB) with columns category, "
                    "project, content, score, row_type. Each category's items must add up to "
                    "its subtotal row and the subtotals to the total: a category that does "
                    "not is a 400 naming it. A standard whose title, industry and items are "
                    "those of a universal checklist already there answers 200 with that "
                    "checklist (published now if `publish` and it was a draft) and makes "
                    "no copy.",
        other_answers=((200, "the same standard was imported before: that checklist",
                        views.Checklist),)),
    ("GET", "/api/v1/checklists"): Operation(
        "checklists", "checklists", views.ChecklistPage, query=checklist.ChecklistQuery),
    ("GET", "/api/v1/checklists/<string:checklist_id>"): Operation(
        "one checklist with its versions and its latest version", "checklists",
        views.Checklist, query=checklist.VisibleTo),
    ("PUT", "/api/v1/checklists/<string:checklist_id>/draft"): Operation(
        "save the draft (version n+1 if the latest is published)", "checklists",
        views.Checklist, body=checklist.EditChecklist, conflicts=True),
    ("POST", "/api/v1/checklists/<string:checklist_id>/publish"): Operation(
        "publish the latest draft", "checklists", views.Checklist, conflicts=True),
    ("GET", "/api/v1/checklists/<string:checklist_id>/versions/<int:version>"): Operation(
        "one version of a checklist", "checklists", views.ChecklistVersion,
        query=checklist.VisibleTo),

    # --- positions -----------------------------------------------------------------------
    ("POST", "/api/v1/enterprises/<string:enterprise_id>/positions"): Operation(
        "register a position (and issue its QR code)", "positions", views.Position, 201,
        body=checklist.RegisterPosition),
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/positions"): Operation(
        "an enterprise's positions", "positions", views.PositionPage,
        query=checklist.PositionQuery),
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/positions/qr-sheet.pdf"): Operation(
        "a printable A4 sheet of the enterprise's position codes (all, or those of position_ids)",
        "positions", _files("application/pdf"), query=checklist.QrSheetQuery),
    ("GET", "/api/v1/positions/<string:position_id>"): Operation(
        "one position", "positions", views.Position),
    ("GET", "/api/v1/positions/<string:position_id>/qr.png"): Operation(
        "the position's QR code as PNG", "positions", _files("image/png")),
    ("GET", "/api/v1/positions/<string:position_id>/qr.svg"): Operation(
        "the position's QR code as SVG", "positions",
        {"image/svg+xml": {"type": "string"}}),
    ("PATCH", "/api/v1/positions/<string:position_id>"): Operation(
        "change a position's name, location or checklists (a JSON merge)", "positions",
        views.Position, body=checklist.UpdatePosition, conflicts=True,
        description="The enterprise's manager's, or the authority's, as registering a "
                    "position is (403 for any other role; another tenant's position is a "
                    "404). The fields sent change, those left out stay; `checklist_ids` "
                    "replaces the list. Records PositionUpdated with only the changed fields "
                    "(its actor the account); a request that changes nothing records nothing "
                    "and answers 200 with the position. Not the enterprise, not the QR code "
                    "(rotate-code). A retired position cannot be changed (409)."),
    ("POST", "/api/v1/positions/<string:position_id>/retirement"): Operation(
        "retire a position: no longer in use", "positions", views.Position,
        body=checklist.RetirePosition,
        description="Who may change the position may retire it. Records PositionRetired "
                    "(nothing again if retired already: 200 with the position as it is) and "
                    "ends today every schedule at it that runs past today (ScheduleEnded). "
                    "A retired position is kept with its inspections; it is left out of the "
                    "listing (include_retired=true lists it) and the QR sheet, its code "
                    "answers 410, no schedule can be made at it, and an inspection completed "
                    "after its retirement is refused (400 naming position_id)."),
    ("GET", "/api/v1/positions/<string:position_id>/history"): Operation(
        "the position's changes, oldest first", "positions", views.PositionHistory,
        description="PositionRegistered, PositionCodeIssued (without the token), "
                    "PositionUpdated, PositionRetired, each with its actor; not the scans. "
                    "Not paged: a position changes a handful of times."),
    ("POST", "/api/v1/positions/<string:position_id>/rotate-code"): Operation(
        "issue a new QR code; the old one stops working", "positions", views.Position,
        conflicts=True),
    ("GET", "/api/v1/scan/<string:token>"): Operation(
        "scan a QR code: the position and the checklists that apply there", "positions",
        views.ScanResult, query=checklist.Scan, conflicts=True, command=True,
        description="Records who scanned (the account scanning) and when. An unknown or "
                    "replaced code is 404; the code of a retired position is 410 (it was "
                    "real, and is no longer in use).",
        extra_errors=(410,)),
    ("GET", "/scan/<string:token>"): Operation(
        "the QR code's link itself: a browser goes to the inspection page, an API client "
        "gets the scan", "positions", views.ScanResult, query=checklist.Scan, conflicts=True,
        access_of="scan", command=True, extra_errors=(410,), other_answers=((303, "a browser (Accept: text/html): to "
                                               "/app/inspect.html#<token>", None),),
        description="JSON (as GET /api/v1/scan/{token}) unless the client prefers text/html."),

    # --- inspections ---------------------------------------------------------------------
    ("POST", "/api/v1/inspections"): Operation(
        "log an inspection: a result for every item of a published checklist version",
        "inspections", views.Inspection, 201, body=checklist.LogInspection,
        description="Item problems are named by item: "
                    "`{\"fields\": {\"results\": {\"<item_id>\": [...]}}}`. Kind "
                    "`enforcement` is the authority's (403 with the reason for any other "
                    "account) and uses one of its universal checklists; its failed items "
                    "become hazards with source `enforcement`. The account logging it is "
                    "always among `inspectors`."),
    ("GET", "/api/v1/inspections"): Operation(
        "the inspection ledger", "inspections", views.InspectionPage,
        query=checklist.InspectionQuery),
    ("GET", "/api/v1/inspections/export.csv"): Operation(
        "the inspection ledger as CSV", "inspections", _files(CSV),
        query=checklist.InspectionExportQuery, description=INSPECTION_EXPORT),
    ("GET", "/api/v1/inspections/export.xlsx"): Operation(
        "the inspection ledger as an Excel workbook", "inspections", _files(XLSX),
        query=checklist.InspectionExportQuery, description=INSPECTION_EXPORT),
    ("GET", "/api/v1/inspections/<string:inspection_id>"): Operation(
        "one inspection with each item's result", "inspections", views.Inspection),

    # --- safety actions ------------------------------------------------------------------
    ("POST", "/api/v1/enterprises/<string:enterprise_id>/safety-actions"): Operation(
        "record a training, drill, meeting or daily record", "safety actions",
        views.SafetyAction, 201, body=checklist.RecordSafetyAction),
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/safety-actions"): Operation(
        "an enterprise's safety actions", "safety actions", views.SafetyActionPage,
        query=checklist.SafetyActionQuery),
    # --- schedules and rounds ------------------------------------------------------------
    ("POST", "/api/v1/enterprises/<string:enterprise_id>/schedules"): Operation(
        "schedule a checklist at a position: daily, weekly, monthly or by shift",
        "schedules", views.Schedule, 201, body=checklist.CreateSchedule,
        description="The enterprise's manager's (403 for any other role). Rounds are cut in "
                    "the deployment's time zone (EINSPECTION_TIME_ZONE) from `starts_on` "
                    "(today or later). Who: a person (`assignee`, an enabled account of the "
                    "enterprise) or a role (`assignee_role`), one of the two. A universal "
                    "checklist with a `required_frequency` cannot be scheduled rarer (400 "
                    "naming `frequency`); a retired position cannot be scheduled at (400 "
                    "naming `position_id`)."),
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/schedules"): Operation(
        "an enterprise's schedules, and the frequencies the authority requires",
        "schedules", views.ScheduleList,
        description="`requirements`: each universal checklist (published) with a "
                    "`required_frequency` that applies to the enterprise, `satisfied` when a "
                    "schedule of it with rounds from today on (not ended, or ending after "
                    "today) comes at least that often "
                    "(daily and shift > weekly > monthly; a weekly schedule on all seven days "
                    "counts as daily, a shift schedule on some weekdays only as weekly), "
                    "with those schedules' ids."),
    ("POST", "/api/v1/schedules/<string:schedule_id>/end"): Operation(
        "end a schedule: no rounds from `ends_on` (default today) on", "schedules",
        views.Schedule, body=checklist.EndSchedule,
        description="The enterprise's manager's. Rounds before stand, done or missed."),
    ("GET", "/api/v1/rounds"): Operation(
        "scheduled rounds by local day: due, done or missed", "schedules", views.RoundList,
        query=checklist.RoundQuery,
        description="Rounds whose window begins on a day from `from` to `to` (default "
                    "today; at most 92 days) of the schedules in the caller's scope. A round "
                    "is done by the first self-inspection of its checklist at its position "
                    "completed in its window; one whose window ended without is missed "
                    "(InspectionMissed, once)."),
    ("GET", "/api/v1/statistics/inspections"): Operation(
        "inspections per kind, month, enterprise, checklist, town, grid or industry",
        "inspections", {JSON: views.InspectionStatistics, CSV: BINARY},
        query=statistics.InspectionStatisticsQuery,
        description="Self-, grid and enforcement inspections of the caller's scope: how many, "
                    "of how many enterprises, how many found something (findings_rate), items "
                    "checked and failed (failed_item_rate). from / to and the months are days "
                    "of the deployment's time zone. " + FIGURES),
    ("GET", "/api/v1/statistics/training"): Operation(
        "training over all enterprises in a period", "safety actions",
        {JSON: views.TrainingStatistics, CSV: BINARY}, query=statistics.TrainingStatisticsQuery,
        description=FIGURES),

    # --- hazards -------------------------------------------------------------------------
    ("POST", "/api/v1/hazards"): Operation(
        "report a hazard", "hazards", views.Hazard, 201, body=hazard.ReportHazard,
        conflicts=True, description="`enterprise_id`, `position_id`, `source_inspection_id` "
                                    "(with `source_item_id`) and `evidence` must exist and be "
                                    "the enterprise's own: 400 naming the field otherwise, "
                                    "another tenant's as a missing one. 409: a hazard from "
                                    "this inspection item exists. The account reporting is "
                                    "`reported_by`; `reporter` is a name."),
    ("GET", "/api/v1/hazards"): Operation(
        "the standing book (hazard ledger)", "hazards", views.LedgerPage,
        query=hazard.LedgerQuery),
    ("GET", "/api/v1/statistics/hazards"): Operation(
        "hazard counts and rates per level, category, status, source, enterprise, month "
        "found, town, grid or industry", "hazards",
        {JSON: views.HazardStatistics, CSV: BINARY}, query=statistics.HazardStatisticsQuery,
        description="Over the standing book's filters (status=open: reported or returned). "
                    "rectification_rate: closed / total; on_time_rate: closed_on_time / "
                    "closed (rectified by the deadline). Town, grid and industry are the "
                    "register's, per enterprise. " + FIGURES),
    ("GET", "/api/v1/hazards/export.csv"): Operation(
        "the standing book as CSV", "hazards", _files(CSV),
        query=hazard.LedgerExportQuery, description=LEDGER_FILTERS),
    ("GET", "/api/v1/hazards/export.xlsx"): Operation(
        "the standing book as an Excel workbook", "hazards", _files(XLSX),
        query=hazard.LedgerExportQuery, description=LEDGER_FILTERS),
    ("GET", "/api/v1/hazards/<string:hazard_id>"): Operation(
        "one hazard", "hazards", views.Hazard),
    ("GET", "/api/v1/hazards/<string:hazard_id>/rectification-notice.pdf"): Operation(
        "the hazard's printable rectification notice (隐患整改通知书)", "hazards",
        _files("application/pdf"),
        description="An A4 PDF, Chinese with English beside: the notice's number (stable: "
                    "the local day found and the hazard id's digest), the enterprise, the "
                    "position, level, category, the description in full, the day found and "
                    "the deadline in the deployment's time zone (EINSPECTION_TIME_ZONE), the "
                    "failed checklist item's legal basis, a major hazard's plan, who reported "
                    "it, when it was printed and signature lines. Seen as the hazard is: "
                    "another tenant's is a 404."),
    ("GET", "/api/v1/hazards/<string:hazard_id>/history"): Operation(
        "every event of the hazard, oldest first", "hazards", views.History,
        description="Not paged: a hazard's stream is a handful of events."),
    ("POST", "/api/v1/hazards/<string:hazard_id>/plan"): Operation(
        "record (or revise) the remediation plan", "hazards", views.Hazard, 201,
        body=hazard.RecordPlan, conflicts=True),
    ("POST", "/api/v1/hazards/<string:hazard_id>/rectification"): Operation(
        "submit a rectification", "hazards", views.Hazard, 201,
        body=hazard.SubmitRectification, conflicts=True,
        description="A major hazard needs its plan first (409 otherwise)."),
    ("POST", "/api/v1/hazards/<string:hazard_id>/assignment"): Operation(
        "assign the hazard to a person of its enterprise (or reassign it)", "hazards",
        views.Hazard, 201, body=hazard.AssignHazard, conflicts=True,
        description="The enterprise's manager, a grid or town officer or the authority, within "
                    "its scope (another tenant's hazard is a 404; any other role a 403). "
                    "`assignee` must be an enabled account of the hazard's enterprise: 400 "
                    "naming `assignee` otherwise, another enterprise's account as a missing "
                    "one. 409 for a closed hazard. The same assignment again changes nothing. "
                    "The assignee is reminded HAZARD_REMINDER_DAYS (3, 1 and 0 by default) "
                    "days before the due's day (HazardRectificationDue); overdue, it and the "
                    "enterprise are told, and HAZARD_ESCALATION_DAYS (3) days after the "
                    "deadline's day still open it is escalated to the grid "
                    "(HazardEscalated)."),
    ("GET", "/api/v1/me/work"): Operation(
        "my work: hazards assigned to me, waiting for my verification, my unread notices",
        "hazards", views.MyWork,
        description="Within the account's scope. Waiting for verification: submitted "
                    "rectifications of the levels the verification rule lets its role "
                    "verify, minus those it planned or rectified (separation of duties). "
                    "Unread notices: its own inbox (`account:<username>`) and the one it "
                    "answers for (its enterprise's, its grid's or the authority's)."),
    ("POST", "/api/v1/hazards/<string:hazard_id>/listing"): Operation(
        "list a major hazard for supervision (挂牌督办)", "hazards", views.Hazard, 201,
        body=hazard.ListHazard, conflicts=True,
        description="The authority's (authority_inspector, authority_admin): 403 with the "
                    "reason for any other account, once the hazard is found in its scope "
                    "(another tenant's is a 404). 409 for a general hazard, a closed one, or "
                    "one listed already. Reminders go to the enterprise, its grid and the "
                    "authority before the deadline (HAZARD_LISTING_REMINDER_DAYS, 7 and 1 "
                    "days by default) and on its day (HazardListingDue)."),
    ("POST", "/api/v1/hazards/<string:hazard_id>/delisting"): Operation(
        "sign a listing off (delist): the authority's, after the verified rectification",
        "hazards", views.Hazard, body=hazard.DelistHazard, conflicts=True,
        description="403 with the reason for any account but the authority's; 409 \"delisting "
                    "requires the verified rectification\" until the hazard is closed, or when "
                    "it is not listed. The account delisting is the sign-off (the actor of "
                    "HazardDelisted)."),
    ("POST", "/api/v1/hazards/<string:hazard_id>/verification"): Operation(
        "verify a rectification, or return it", "hazards", views.Hazard, 201,
        body=hazard.Verify, conflicts=True,
        description="403 with the reason unless the verification rule "
                    "(HAZARD_VERIFICATION_RULES) lets the account verify a hazard of this "
                    "level — by default a general one the enterprise's manager or an officer, "
                    "a major one a grid or town officer or the authority — and never the "
                    "account that recorded a plan or a rectification of it. Returning is "
                    "verifying too. The rule's version is on the answer and the event."),
    ("POST", "/api/v1/evidence"): Operation(
        "upload an evidence file (the raw bytes as the body)", "hazards",
        views.EvidenceStored, 201,
        body={media_type: BINARY for media_type in blobs.CONTENT_TYPES},
        query=hazard.UploadEvidence,
        description="The file is checked whole: an image must decode completely within "
                    "EVIDENCE_MAX_PIXELS, a PDF must parse; anything else is a 400. Larger "
                    "than EVIDENCE_MAX_BYTES (10 MiB by default), or past the enterprise's "
                    "EVIDENCE_QUOTA_BYTES, is 413. The file belongs to `enterprise_id` (an "
                    "enterprise account's own by default)."),
    ("GET", "/api/v1/evidence/<string:ref>"): Operation(
        "download an evidence file", "hazards", _files(*blobs.CONTENT_TYPES),
        description="A file of an enterprise of the caller's scope (404 otherwise). Images "
                    "inline, PDFs as an attachment."),

    # --- notices -------------------------------------------------------------------------
    ("GET", "/api/v1/enterprises/<string:enterprise_id>/notices"): Operation(
        "an enterprise's inbox, newest first", "notices", views.Inbox,
        query=notify.InboxQuery(exclude=("recipient",))),
    ("GET", "/api/v1/notices"): Operation(
        "any recipient's inbox", "notices", views.Inbox, query=notify.InboxQuery),
    ("GET", "/api/v1/notices/<string:notice_id>"): Operation(
        "one notice with its deliveries", "notices", views.NoticeWithDeliveries),
    ("POST", "/api/v1/notices/<string:notice_id>/read"): Operation(
        "the account's read receipt (the first read counts)", "notices",
        views.NoticeWithDeliveries, body=notify.ReadNotice,
        description="The reader is the account: the body is `{}` (a `reader` is refused)."),
    ("POST", "/api/v1/publications"): Operation(
        "publish a notice to all enterprises, a town, an industry or a grid", "notices",
        views.Publication, 201, body=notify.Publish),
    ("GET", "/api/v1/publications"): Operation(
        "publications", "notices", views.PublicationPage, query=notify.PublicationQuery),
    ("GET", "/api/v1/publications/<string:publication_id>"): Operation(
        "one publication with who has read it", "notices", views.Publication),
    ("GET", "/api/v1/recipients/<string:recipient>/settings"): Operation(
        "a recipient's language and e-mail addresses", "notices",
        views.RecipientSettingsView),
    ("PUT", "/api/v1/recipients/<string:recipient>/settings"): Operation(
        "change a recipient's language and e-mail addresses", "notices",
        views.RecipientSettingsView, body=notify.RecipientSettings, conflicts=True),

    # --- webhooks ------------------------------------------------------------------------
    ("POST", "/api/v1/webhooks"): Operation(
        "subscribe a URL to event types", "webhooks", views.NewWebhook, 201,
        body=notify.Subscribe,
        description="Exact types or topic patterns (`einspection.hazard.#`); a pattern that "
                    "matches no event type is a 400. The URL must be http(s), without "
                    "credentials, to a public address: loopback, private, link-local, "
                    "multicast and unspecified addresses (in any notation, or as what the "
                    "host name resolves to) are a 400 naming `url`, and are refused again "
                    "at every try. Deliveries carry only what the subscribing account may "
                    "read over this API. The secret (`whsec_` + base64 of 24 to 64 key "
                    "bytes; generated when left out) is shown once; deliveries are signed by "
                    "the Standard Webhooks spec (`webhook-id`, `webhook-timestamp`, "
                    "`webhook-signature`)."),
    ("GET", "/api/v1/webhooks"): Operation(
        "webhook subscriptions", "webhooks", views.WebhookPage, query=notify.WebhookQuery),
    ("GET", "/api/v1/webhooks/<string:subscription_id>"): Operation(
        "one subscription with its delivery counts", "webhooks", views.Webhook,
        description="`status` is `suspended` once the account that made it is disabled, "
                    "`disabled` once its receiver answered 410 Gone (`disabled_reason` says "
                    "which delivery, when): it then schedules nothing, and its pending "
                    "deliveries fail."),
    ("DELETE", "/api/v1/webhooks/<string:subscription_id>"): Operation(
        "cancel a subscription", "webhooks", views.Webhook, conflicts=True),
    ("POST", "/api/v1/webhooks/<string:subscription_id>/secret-rotation"): Operation(
        "rotate a subscription's signing secret", "webhooks", views.NewWebhook,
        body=notify.RotateSecret, conflicts=True,
        description="A new secret (the body's `secret`, or generated), shown this once. "
                    "For the overlap (`overlap_hours`, by default 24) every delivery carries "
                    "two `v1,` signatures in `webhook-signature`, the new secret's and the "
                    "old one's; after it the new one's only. A cancelled subscription is a "
                    "409; another account's is a 404."),
    ("GET", "/api/v1/webhooks/<string:subscription_id>/deliveries"): Operation(
        "a subscription's deliveries, newest first", "webhooks", views.DeliveryPage,
        query=notify.DeliveriesQuery),

    # --- enforcement: campaigns and their draws --------------------------------------------
    ("POST", "/api/v1/campaigns"): Operation(
        "open an enforcement campaign: legal basis, period, targets and their quotas per town",
        "enforcement", views.Campaign, 201, body=enforcement.OpenCampaign,
        description="The authority's. Quotas given must add up to `targets` (400 `quotas`); "
                    "without them each town gets its share of the targets in proportion to "
                    "its registered enterprises, by largest remainder (docs/enforcement.md). "
                    "400 `mandatory` for an unknown enterprise, more mandatory ones in a town "
                    "than its quota, or a mandatory list that leaves less than "
                    "ENFORCEMENT_MIN_RANDOM_SHARE (0.70 by default) of the plan to the random "
                    "draw."),
    ("GET", "/api/v1/campaigns"): Operation(
        "campaigns", "enforcement", views.CampaignPage, query=enforcement.CampaignQuery),
    ("GET", "/api/v1/campaigns/<string:campaign_id>"): Operation(
        "one campaign: its quotas, commitment, draw and assignment", "enforcement",
        views.Campaign),
    ("GET", "/api/v1/campaigns/<string:campaign_id>/candidates"): Operation(
        "the candidates with their weights and factors, and the exclusions with their reasons",
        "enforcement", views.Candidates, conflicts=True,
        description="After the commit, the committed snapshot; before it, a preview from "
                    "the facts as they stand (recorded nowhere; 409 when they make no "
                    "snapshot, e.g. a mandatory enterprise no longer registered)."),
    ("POST", "/api/v1/campaigns/<string:campaign_id>/commit"): Operation(
        "fix the candidate snapshot and the inspector pool and publish their SHA-256 (before "
        "the seed is known)", "enforcement", views.Campaign, conflicts=True,
        description="CandidatesCommitted: the snapshot (ids, weights, exclusions, the weights "
                    "version) and its digest; the pool (the authority's enabled inspector "
                    "accounts), the conflicts and per_target and their digest. Once: 409 when "
                    "committed already, or when the pool is smaller than per_target."),
    ("POST", "/api/v1/campaigns/<string:campaign_id>/draw"): Operation(
        "draw the targets from the committed snapshot with the revealed seed", "enforcement",
        views.Campaign, body=enforcement.DrawTargets, conflicts=True,
        description="TargetsDrawn: weighted sampling without replacement per town "
                    "(Efraimidis–Spirakis, keys from SHA-256 of the seed and the enterprise "
                    "id), the mandatory enterprises first. 409 before the commit, or when "
                    "drawn already."),
    ("POST", "/api/v1/campaigns/<string:campaign_id>/draw/verify"): Operation(
        "re-run the draw (and the assignment) from its record: is the list identical?",
        "enforcement", views.DrawVerification, command=False,
        description="Nothing is recorded. 404 before the draw."),
    ("GET", "/api/v1/campaigns/<string:campaign_id>/draw/record"): Operation(
        "the draw record as a JSON file, for the offline check", "enforcement",
        {JSON: {"type": "object"}},
        description="Everything an outsider needs to re-run the draw and the assignment with "
                    "no database: `python -m services.enforcement.verify_draw FILE`. 404 "
                    "before the draw."),
    ("POST", "/api/v1/campaigns/<string:campaign_id>/assignments"): Operation(
        "double random: draw the inspectors of every target", "enforcement", views.Campaign,
        body=enforcement.AssignInspectors, conflicts=True,
        description="InspectorsAssigned: at least `per_target` (2) inspectors per target from "
                    "the pool committed with the candidates, never against the campaign's "
                    "conflicts, with a balanced load, seeded by the draw's seed. The body is "
                    "`{}`. 409 before the draw, when assigned already, or when a target cannot "
                    "get enough inspectors without a conflict."),

    # --- enforcement: cases ----------------------------------------------------------------
    ("POST", "/api/v1/cases"): Operation(
        "open the case of an enforcement inspection", "enforcement", views.Case, 201,
        body=enforcement.OpenCaseRequest,
        description="The authority's (403 for any other account once the inspection is "
                    "found in its scope). The case's enterprise and campaign are the "
                    "inspection's; its id derives from the inspection's, so opening it again "
                    "answers the same case. An enforcement inspection with failed items has "
                    "its case opened by itself. 400 `inspection_id` for an inspection not of "
                    "kind enforcement (or not found)."),
    ("GET", "/api/v1/hazard-categories"): Operation(
        "the hazard categories (隐患类别)", "hazards", views.HazardCategories,
        description="The fixed taxonomy with its Chinese and English labels and synonyms, "
                    "as this deployment extended it (HAZARD_CATEGORIES); any account may "
                    "read it. A hazard or a filter given a key, label or synonym (消防, Fire) "
                    "is recorded and filtered as the key (fire); other text is kept as "
                    "given."),
    ("GET", "/api/v1/violation-classes"): Operation(
        "the violation classes a citation may have", "enforcement", views.ViolationClasses,
        description="As this deployment configured them (ENFORCEMENT_VIOLATION_CLASSES), in "
                    "their order, with their Chinese and English labels; any account may read "
                    "them. A citation with another `violation_class` is a 400 naming the "
                    "field."),
    ("GET", "/api/v1/cases"): Operation(
        "cases (an enterprise's accounts: their own)", "enforcement", views.CasePage,
        query=enforcement.CaseQuery),
    ("GET", "/api/v1/cases/<string:case_id>"): Operation(
        "one case with its citations, fines, payments and every step", "enforcement",
        views.Case),
    ("POST", "/api/v1/cases/<string:case_id>/citations"): Operation(
        "issue a citation: clause, violation class, fine proposed, abatement day, hazards",
        "enforcement", views.Case, 201, body=enforcement.IssueCitation, conflicts=True,
        description="The authority's, after the case is found in the account's scope "
                    "(another tenant's is a 404). Money is a decimal string (a JSON number is "
                    "a 400). `hazard_ids` must be hazards of the case's enterprise (400 naming "
                    "each that is not); a cited hazard's verified rectification abates the "
                    "citation. 409 once the penalty is decided."),
    ("POST", "/api/v1/cases/<string:case_id>/citations/<string:citation_id>/withdrawal"):
        Operation("withdraw a citation (kept in the file, out of every total)", "enforcement",
                  views.Case, body=enforcement.WithdrawCitation(exclude=("citation_id",)),
                  conflicts=True, description="409 once the penalty is decided."),
    ("POST", "/api/v1/cases/<string:case_id>/citations/<string:citation_id>/abatement"):
        Operation("record a citation's abatement (put right)", "enforcement", views.Case,
                  body=enforcement.AbateCitation(exclude=("citation_id",)), conflicts=True,
                  description="A cited hazard's verified rectification does this by itself "
                              "(with its `hazard_id`)."),
    ("POST", "/api/v1/cases/<string:case_id>/penalty"): Operation(
        "decide the penalty: the fine imposed for every citation in force", "enforcement",
        views.Case, body=enforcement.DecidePenalty, conflicts=True,
        description="Once. A fine imposed above the one proposed is a 400 naming it; every "
                    "citation in force must be listed once. Totals are exact sums of the "
                    "amounts in fen."),
    ("POST", "/api/v1/cases/<string:case_id>/payments"): Operation(
        "record a payment towards the fines imposed", "enforcement", views.Case, 201,
        body=enforcement.RecordPayment, conflicts=True,
        description="409 before the penalty is decided, and for an overpayment (the balance "
                    "is in the message). The same reference with the same figures records "
                    "nothing again."),
    ("GET", "/api/v1/statistics/enforcement"): Operation(
        "the authority's enforcement figures per campaign, town, grid, industry, year, "
        "enterprise or violation class", "enforcement",
        {JSON: views.EnforcementStatistics, CSV: BINARY},
        query=statistics.EnforcementStatisticsQuery,
        description="Within the caller's scope (an enterprise: its own; a grid's or town's "
                    "officer: their enterprises). " + views.ENFORCEMENT_FIGURE_WORDS + ". "
                    "Money is summed exactly in one currency: `currency`, else the one of the "
                    "cases selected (400 naming `currency` when they are in two). from / to "
                    "are days of the deployment's time zone, both included; each record "
                    "counts on its own day (an inspection's, a hazard's report, a case's "
                    "opening). sort / limit order and cut the groups, e.g. "
                    "group_by=enterprise&sort=-fines_imposed&limit=10 for the establishments "
                    "with the highest fines. " + FIGURES),
    ("POST", "/api/v1/cases/<string:case_id>/close"): Operation(
        "close the case: paid, no_penalty, withdrawn or terminated", "enforcement", views.Case,
        body=enforcement.CloseCase, conflicts=True,
        description="`paid` needs a balance of zero; `no_penalty` no penalty above zero; "
                    "`withdrawn` no payment; `terminated` a penalty not paid in full and a "
                    "`note` (409 / 400 otherwise)."),
}

# @http routes that are not operations of the API, and why.
# the health checks answer their own body with a 503, not the error shape
HEALTH_BODIES = {"/health": views.Health, "/health/ready": views.Ready}

NOT_OPERATIONS = {
    ("GET", "/"): "the web pages (routes_web.py): HTML, JavaScript and CSS, not the API",
    ("GET", "/app"): "the web pages",
    ("GET", "/app/"): "the web pages",
    ("GET", "/app/<path:filename>"): "the web pages",
    ("GET", "/app/deployment.json"): "the web pages' settings (the deployment's time zone)",
    ("GET", "/app/messages/<string:language>.json"): "the web pages' words per language",
}

_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def openapi_path(werkzeug_path):
    """/a/<string:id>/b/<int:n> -> /a/{id}/b/{n}"""
    return _CONVERTER.sub(lambda match: "{%s}" % match.group(2), werkzeug_path)


def path_parameter_names(werkzeug_path):
    return [match.group(2) for match in _CONVERTER.finditer(werkzeug_path)]


def http_routes(service_class):
    """{(method, path): attribute name} of every @http entrypoint of the class."""
    routes = {}
    for name in dir(service_class):
        for entrypoint in getattr(getattr(service_class, name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpRequestHandler):
                routes[(entrypoint.method, entrypoint.url)] = name
    return routes


def access(service_class, function_name):
    """(public, roles) of a route, as its @endpoint declared them; a route
    without one (/metrics) checks no token."""
    function = getattr(service_class, function_name)
    return getattr(function, "public", True), getattr(function, "roles", auth.ROLES)


def _error_statuses(method, werkzeug_path, operation, public, roles):
    statuses = {503}
    if operation.is_command(method, public):
        statuses |= {400, 422}           # a malformed or reused Idempotency-Key
    takes_input = operation.body or operation.query or path_parameter_names(werkzeug_path)
    if takes_input:
        statuses.add(400)
    if path_parameter_names(werkzeug_path):
        statuses.add(404)
    if operation.body:
        statuses.add(413)
    if operation.conflicts:
        statuses.add(409)
    if not public:
        statuses.add(401)
        if set(roles) != set(auth.ROLES):
            statuses.add(403)
    if werkzeug_path in ("/openapi.json", "/docs", "/asyncapi.json", "/docs/events", "/metrics"):
        statuses = set()           # the gateway answers these alone
    return statuses | set(operation.extra_errors)


def _content(payload):
    if isinstance(payload, dict):
        return {media_type: {"schema": schema} for media_type, schema in payload.items()}
    return {JSON: {"schema": payload}}


def _operation(converter, method, werkzeug_path, function_name, operation, public, roles):
    parameters = []
    for name in path_parameter_names(werkzeug_path):
        prop = converter.field2property(path_parameter_field(name))
        parameter = {"in": "path", "name": name, "required": True, "schema": prop}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        parameters.append(parameter)
    if operation.query is not None:
        parameters.append({"in": "query", "schema": operation.query})
    command = operation.is_command(method, public)
    if command:
        parameters.append(IDEMPOTENCY_KEY_PARAMETER)
    responses = {str(operation.status): {"description": operation.returns_description,
                                         "content": _content(operation.returns)}}
    for status, description, content in operation.other_answers:
        responses[str(status)] = {"description": description}
        if content:
            responses[str(status)]["content"] = _content(content)
    for status in sorted(_error_statuses(method, werkzeug_path, operation, public, roles)):
        responses[str(status)] = {"description": ERROR_MEANINGS[status],
                                  "content": {JSON: {"schema": "Error"}}}
    if "503" in responses and werkzeug_path in HEALTH_BODIES:
        responses["503"]["content"] = {JSON: {"schema": HEALTH_BODIES[werkzeug_path]}}
    if "503" in responses:
        responses["503"]["headers"] = {"Retry-After": {
            "description": "seconds to wait before trying again",
            "schema": {"type": "integer"}}}
    if command:
        responses["503"]["description"] = COMMAND_UNKNOWN_OUTCOME
        for response in responses.values():
            response.setdefault("headers", {})[IDEMPOTENCY_KEY] = IDEMPOTENCY_KEY_HEADER
    document = {"operationId": operation.operation_id or function_name, "summary": operation.summary,
                "tags": [operation.tag], "parameters": parameters, "responses": responses}
    description = [operation.description] if operation.description else []
    if not public and set(roles) != set(auth.ROLES):
        description.append("Roles: %s." % ", ".join(roles))
    if description:
        document["description"] = " ".join(description)
    if operation.body is not None:
        document["requestBody"] = {"required": True, "content": _content(operation.body)}
    if public:
        document["security"] = []
    return document


def build(service_class):
    """The OpenAPI document (a dict) of `service_class`'s documented routes."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title=TITLE, version=VERSION, openapi_version="3.0.3", plugins=[plugin],
        info={"description": "The HTTP API of E-inspection: the enterprise register, "
                             "checklists, positions and QR codes, inspections, safety actions, "
                             "hazards and the standing book, scores and rankings, notices and "
                             "webhooks, enforcement campaigns and cases. Every error has one "
                             "shape, `Error`. Lists take `page` (from 1), `size` (1-200, "
                             "default 50) and `sort` (a key, `-` in front for descending) and "
                             "answer {items, page, size, total, pages, sort}."},
        security=[{"bearerAuth": []}])
    schemadoc.add_conversions(plugin.converter)
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=views.Error)
    declared = http_routes(service_class)
    by_path = {}
    for (method, werkzeug_path), operation in ROUTES.items():
        if (method, werkzeug_path) not in declared:
            continue                            # tests/test_openapi.py reports it
        by_path.setdefault(werkzeug_path, {})[method.lower()] = (
            declared[(method, werkzeug_path)], operation)
    for werkzeug_path, operations in by_path.items():
        spec.path(path=openapi_path(werkzeug_path), operations={
            method: _operation(plugin.converter, method.upper(), werkzeug_path, function_name,
                               operation,
                               *access(service_class, operation.access_of or function_name))
            for method, (function_name, operation) in operations.items()})
    return spec.to_dict()
