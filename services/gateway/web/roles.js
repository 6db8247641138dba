// Which page each role starts on.
const ENTERPRISE_ROLES = ["enterprise_staff", "enterprise_manager"];
const AUTHORITY_ROLES = ["grid_officer", "town_officer", "authority_inspector", "authority_admin"];

export function isEnterpriseRole(role) {
  return ENTERPRISE_ROLES.includes(role);
}

export function isAuthorityRole(role) {
  return AUTHORITY_ROLES.includes(role);
}

// Where each role starts its day: staff and the grid's and town's officers on
// My work (rounds due, hazards assigned or waiting for them, notices); the
// enterprise's manager on its dashboard (score, hazards, ledger); the
// authority's inspectors and admins on the authority's dashboard.
const HOMES = {
  enterprise_staff: "/app/work.html",
  enterprise_manager: "/app/enterprise.html",
  grid_officer: "/app/work.html",
  town_officer: "/app/work.html",
  authority_inspector: "/app/authority.html",
  authority_admin: "/app/authority.html",
};

export function homeOf(account) {
  return HOMES[account && account.role] || "/app/";
}

// The kind of inspection a role does on site.
export function inspectionKind(account) {
  const role = account && account.role;
  if (role === "grid_officer" || role === "town_officer") return "grid";
  if (role === "authority_inspector" || role === "authority_admin") return "enforcement";
  return "self";
}

// The authority's legal acts (campaigns, cases): its inspectors and admins only.
const ENFORCEMENT_ROLES = ["authority_inspector", "authority_admin"];

export function mayEnforce(account) {
  return ENFORCEMENT_ROLES.includes(account && account.role);
}

// The top bar's links for the account, the daily pages first: [key, href]; the
// label is the catalogue's common.nav.<key>. Enforcement pages
// only where the API answers them (campaigns: the authority; cases: everyone,
// within their scope; listed hazards: whoever supervises).
// Who may verify or return a rectification (the verification rule's roles;
// the service still decides each hazard by its level and separation of duties).
const VERIFYING_ROLES = ["enterprise_manager", ...AUTHORITY_ROLES];

export function mayVerify(account) {
  return VERIFYING_ROLES.includes(account && account.role);
}

// Who may assign a hazard to a person of its enterprise: the same accounts.
export function mayAssign(account) {
  return VERIFYING_ROLES.includes(account && account.role);
}

// The accounts with work and inboxes of their own: the enterprise's and the authority's
// (an integrator reads through its grant and has neither).
export function hasOwnWork(account) {
  const role = account && account.role;
  return isEnterpriseRole(role) || isAuthorityRole(role);
}

export function navigationOf(account) {
  const role = account && account.role;
  const links = [];
  if (hasOwnWork(account)) links.push(["work", "/app/work.html"]);
  if (mayVerify(account)) links.push(["queue", "/app/queue.html"]);
  if (hasOwnWork(account)) links.push(["inbox", "/app/inbox.html"]);
  if (isEnterpriseRole(role)) links.push(["report", "/app/report.html"]);
  // the dashboards: the enterprise's own for its people; the authority's for who
  // supervises (an integrator reads both through its grant, from the start page)
  if (isEnterpriseRole(role)) links.push(["enterprise", "/app/enterprise.html"]);
  if (isAuthorityRole(role) || role === "integrator") links.push(["authority", "/app/authority.html"]);
  if (mayEnforce(account)) links.push(["campaigns", "/app/campaigns.html"]);
  if (role) links.push(["cases", "/app/cases.html"]);
  if (isAuthorityRole(role) || role === "integrator") links.push(["listed", "/app/listed.html"]);
  // management: positions (the enterprise's; the authority reaches them from an
  // enterprise's page), accounts (who may manage them), one's own password
  if (role) links.push(["checklists", "/app/checklists.html"]);
  if (isEnterpriseRole(role)) links.push(["schedules", "/app/schedules.html"]);
  if (isEnterpriseRole(role)) links.push(["safety", "/app/safety.html"]);
  if (isEnterpriseRole(role) || mayEnforce(account)) {
    links.push(["publications", "/app/publications.html"]);
  }
  if (isEnterpriseRole(role)) links.push(["positions", "/app/positions.html"]);
  if (mayManageAccounts(account)) links.push(["accounts", "/app/accounts.html"]);
  if (role) links.push(["password", "/app/password.html"]);
  return links;
}

const ACCOUNT_MANAGERS = ["authority_admin", "enterprise_manager"];

export function mayManageAccounts(account) {
  return ACCOUNT_MANAGERS.includes(account && account.role);
}
