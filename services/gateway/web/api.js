// The JSON API as the pages use it: the bearer token from localStorage on
// every call, a 401 sends the browser to the login page (and back after),
// the API's one error shape becomes an ApiError.

const TOKEN_KEY = "einspection.token";
const ACCOUNT_KEY = "einspection.account";
const NAME_KEY = "einspection.name";

export class ApiError extends Error {
  constructor(status, message, fields, current) {
    super(message);
    this.status = status;
    this.fields = fields || {};
    this.current = current || null;
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

export function account() {
  try {
    return JSON.parse(localStorage.getItem(ACCOUNT_KEY) || "null");
  } catch (_) {
    return null;
  }
}

export function saveSession(issued) {
  localStorage.setItem(TOKEN_KEY, issued.token);
  localStorage.setItem(ACCOUNT_KEY, JSON.stringify(issued.account || null));
}

export function clearSession() {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(ACCOUNT_KEY);
}

// A name to fill in the fields that name a person (inspector, rectified_by,
// responsible person): the account's username, or the name typed in on this
// device. Only data: who acts is always the logged-in account.
export function actorName() {
  const who = account();
  return (who && who.username) || localStorage.getItem(NAME_KEY) || "";
}

export function rememberName(name) {
  if (name) localStorage.setItem(NAME_KEY, name);
}

export function loginUrl() {
  const here = location.pathname + location.search + location.hash;
  return "/app/login.html?next=" + encodeURIComponent(here);
}

export function goToLogin() {
  clearSession();
  location.assign(loginUrl());
}

function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? path + (path.includes("?") ? "&" : "?") + text : path;
}

async function send(method, path, { query, json, raw, contentType, idempotencyKey } = {}) {
  const headers = { Accept: "application/json" };
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  const bearer = token();
  if (bearer) headers.Authorization = "Bearer " + bearer;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (raw !== undefined) {
    headers["Content-Type"] = contentType;
    body = raw;
  }
  let response;
  try {
    response = await fetch(withQuery(path, query), { method, headers, body });
  } catch (err) {
    throw new ApiError(0, "the server cannot be reached; check the connection and try again");
  }
  if (response.status === 401 && !path.startsWith("/api/v1/auth/token")) {
    goToLogin();
    throw new ApiError(401, "please log in");
  }
  // a token of a temporary password can do nothing but change it: the login page does that
  if (response.status === 403 && (account() || {}).must_change_password) {
    goToLogin();
    throw new ApiError(403, "change your temporary password first");
  }
  if (!response.ok) {
    let error = { message: response.statusText || "request failed" };
    try {
      error = (await response.json()).error || error;
    } catch (_) { /* not JSON: keep the status text */ }
    throw new ApiError(response.status, error.message, error.fields, error.current);
  }
  return response;
}

export async function get(path, query) {
  return (await send("GET", path, { query })).json();
}

// `idempotencyKey`: the same request sent again with it (a double tap, a
// retry) answers the first answer and records nothing twice (docs/api.md).
export async function post(path, body, { idempotencyKey } = {}) {
  return (await send("POST", path, { json: body || {}, idempotencyKey })).json();
}

// A whole document replaced (a checklist's draft), with an `idempotencyKey` as for post.
export async function put(path, body, { idempotencyKey } = {}) {
  return (await send("PUT", path, { json: body || {}, idempotencyKey })).json();
}

// A merge of the fields sent (a position's edit), with an `idempotencyKey` as for post.
export async function patch(path, body, { idempotencyKey } = {}) {
  return (await send("PATCH", path, { json: body || {}, idempotencyKey })).json();
}

export async function upload(path, file, { idempotencyKey } = {}) {
  return (await send("POST", path, { raw: file, contentType: file.type, idempotencyKey })).json();
}

// A file the API serves behind the token (an evidence photo) as a Blob: an
// <img> cannot send the token, so the page shows it through an object URL.
export async function blob(path) {
  return (await send("GET", path)).blob();
}

// A file download that carries the bearer token (a plain link could not):
// fetched as a blob, then saved through a temporary object URL.
export async function download(path, query, filename) {
  const blob = await (await send("GET", path, { query })).blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return blob;
}

// The logged-in account, fresh from the server when there is a token;
// null when nobody is logged in.
export async function me() {
  if (!token()) return null;
  const who = await get("/api/v1/auth/me");
  localStorage.setItem(ACCOUNT_KEY, JSON.stringify(who));
  return who;
}

// Every page of a paged list (at most `limit` rows).
export async function all(path, query, limit = 1000) {
  const rows = [];
  for (let page = 1; rows.length < limit; page += 1) {
    const answer = await get(path, { ...query, page, size: 200 });
    rows.push(...answer.items);
    if (rows.length >= answer.total || answer.items.length === 0) break;
  }
  return rows.slice(0, limit);
}
