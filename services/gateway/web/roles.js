// Which page each role starts on.
const ENTERPRISE_ROLES = ["enterprise_staff", "enterprise_manager"];
const AUTHORITY_ROLES = ["grid_officer", "town_officer", "authority_inspector", "authority_admin"];

export function isEnterpriseRole(role) {
  return ENTERPRISE_ROLES.includes(role);
}

export function isAuthorityRole(role) {
  return AUTHORITY_ROLES.includes(role);
}

export function homeOf(account) {
  const role = account && account.role;
  if (isEnterpriseRole(role)) return "/app/enterprise.html";
  if (isAuthorityRole(role)) return "/app/authority.html";
  return "/app/";
}

// The kind of inspection a role does on site.
export function inspectionKind(account) {
  const role = account && account.role;
  if (role === "grid_officer" || role === "town_officer") return "grid";
  if (role === "authority_inspector" || role === "authority_admin") return "enforcement";
  return "self";
}
