// The service worker of the inspection app (scope /app/), registered by the
// inspection page. It keeps what a phone without signal needs:
// - the app shell (SHELL below): fetched from the network first, the cached
//   copy only when the network fails (or takes longer than SHELL_WAIT_MS);
// - the answers of the few API reads the inspection page makes (API_READS),
//   once they were fetched with signal: network first always, the cached
//   answer only when the network cannot be reached. They are cached per
//   account: the cache's name holds a digest of the bearer token, and the
//   caches of any other token are deleted as soon as a new one is used.
// Writes (POST) are never touched here: the page queues them (offline.js).
// A new version takes over at once (skipWaiting, clients.claim); the shell is
// network first, so a page opened with signal is always the newest.
const VERSION = "2026-12-03.1";
const SHELL_CACHE = "einspection-shell-" + VERSION;
const API_PREFIX = "einspection-api-";
const SHELL_WAIT_MS = 5000;
const SHELL = [
  "/app/inspect.html", "/app/inspect.js", "/app/offline.js", "/app/api.js", "/app/ui.js",
  "/app/roles.js", "/app/i18n.js", "/app/app.css", "/app/icon.svg", "/app/icon-192.png",
  "/app/icon-512.png", "/app/manifest.webmanifest", "/app/messages/zh.json",
  "/app/messages/en.json", "/app/deployment.json", "/app/login.html", "/app/login.js",
];
const API_READS = ["/api/v1/scan/", "/api/v1/auth/me", "/api/v1/hazard-categories"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE)
    .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names
      .filter((name) => name.startsWith("einspection-shell-") && name !== SHELL_CACHE)
      .map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

// The page says who is logged in (or that nobody is): other accounts' answers go;
// or hands over an answer it fetched before this worker ran, to keep for its account.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "keep" && typeof data.url === "string" && data.token &&
      API_READS.some((prefix) => new URL(data.url).pathname.startsWith(prefix)) &&
      new URL(data.url).origin === self.location.origin) {
    event.waitUntil(apiCacheName(data.token).then((name) => caches.open(name)).then((cache) =>
      cache.put(new Request(data.url), new Response(data.body, {
        headers: { "Content-Type": "application/json" } }))));
  } else if (data.type === "account") {
    event.waitUntil((data.token ? apiCacheName(data.token) : Promise.resolve(null))
      .then((keep) => dropApiCaches(keep)));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (API_READS.some((prefix) => url.pathname.startsWith(prefix))) {
    event.respondWith(apiRead(request));
  } else if (url.pathname.startsWith("/app/")) {
    event.respondWith(shellFile(request, url));
  }
});

async function shellFile(request, url) {
  const cache = await caches.open(SHELL_CACHE);
  const inShell = SHELL.includes(url.pathname);
  const cached = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
  const fromNetwork = fetch(request).then((response) => {
    if (inShell && response.ok) cache.put(request, response.clone());
    return response;
  });
  if (!cached) {
    if (request.mode !== "navigate") return fromNetwork;
    // a page never kept, opened without signal (the installed app's start page):
    // the inspection page, which shows the outbox and how to start
    return fromNetwork.catch(() => cache.match("/app/inspect.html").then((page) => {
      if (page) return page;
      throw new TypeError("offline");
    }));
  }
  // a slow network (one bar of signal) does not hold the page: the cached copy after a while
  fromNetwork.catch(() => {});               // a late failure is no one's concern then
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(cached), SHELL_WAIT_MS); });
  try {
    return await Promise.race([fromNetwork, late]);
  } catch (err) {
    return cached;
  } finally {
    clearTimeout(timer);
  }
}

async function apiRead(request) {
  const bearer = request.headers.get("Authorization");
  if (!bearer) return fetch(request);
  const name = await apiCacheName(bearer);
  const cache = await caches.open(name);
  let response;
  try {
    response = await fetch(request);
  } catch (err) {
    // no network: the answer this account got the last time, if any
    const cached = await cache.match(request, { ignoreVary: true });
    if (cached) return cached;
    throw err;
  }
  if (response.ok) {
    await cache.put(request, response.clone());
    await dropApiCaches(name);
  } else if (response.status === 401 || response.status === 403 || response.status === 404) {
    await cache.delete(request);        // no longer this account's to read
  }
  return response;
}

async function apiCacheName(bearer) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(bearer));
  return API_PREFIX + [...new Uint8Array(digest)].slice(0, 16)
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function dropApiCaches(keep) {
  const names = await caches.keys();
  await Promise.all(names.filter((name) => name.startsWith(API_PREFIX) && name !== keep)
    .map((name) => caches.delete(name)));
}
