// What the inspection page keeps on the phone, in IndexedDB (database
// "einspection-offline"), so that a position without signal loses nothing:
// - drafts: the marks, notes and photos (the files themselves, as Blobs) of an
//   inspection being made, one per account + position + checklist, saved as
//   they are made and restored when the page is opened again;
// - the outbox: inspections submitted without signal (or whose answer never
//   came), each with the Idempotency-Key made when submit was pressed. Sending
//   one uploads its photos not yet uploaded (each with a key of its own), then
//   posts the inspection with the same key every time: the server records it
//   once however often the request arrives. A network error or a 5xx answer
//   leaves it waiting for the next try; a 4xx is kept, with the API's reason,
//   for the person to fix or discard, and is never sent again by itself.
import { account, token } from "./api.js";

const DATABASE = "einspection-offline";
const DRAFTS = "drafts";
const OUTBOX = "outbox";
const listeners = new Set();

let opened = null;
function database() {
  if (!opened) {
    opened = new Promise((resolve, reject) => {
      const request = indexedDB.open(DATABASE, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(DRAFTS)) db.createObjectStore(DRAFTS, { keyPath: "key" });
        if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: "id" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opened;
}

async function run(storeName, mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(storeName, mode);
    const request = work(transaction.objectStore(storeName));
    transaction.oncomplete = () => resolve(request ? request.result : undefined);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

// Who the records on this device belong to: the account's username.
export function owner() {
  const who = account();
  return (who && who.username) || "";
}

// A version 4 UUID. crypto.randomUUID exists in secure contexts only (https,
// localhost); a phone on http://<lan address> still gets a random key.
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---- drafts --------------------------------------------------------------

export function draftKey(positionId, checklistId) {
  return [owner(), positionId, checklistId].join("|");
}

export function loadDraft(key) {
  return run(DRAFTS, "readonly", (store) => store.get(key));
}

export function saveDraft(draft) {
  return run(DRAFTS, "readwrite", (store) => store.put({ ...draft, updatedAt: new Date().toISOString() }));
}

export function deleteDraft(key) {
  return run(DRAFTS, "readwrite", (store) => store.delete(key));
}

// ---- the outbox ----------------------------------------------------------

export function onOutboxChange(listener) {
  listeners.add(listener);
}

function changed(detail) {
  for (const listener of listeners) listener(detail);
}

// The account's queued inspections, oldest first.
export async function outbox() {
  const items = await run(OUTBOX, "readonly", (store) => store.getAll());
  return items.filter((item) => item.owner === owner())
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export async function enqueue(item) {
  const queued = { ...item, owner: owner(), state: "waiting", reason: "", fields: {},
                   tries: 0, createdAt: new Date().toISOString() };
  await put(queued);
  changed({ item: queued });
  return queued;
}

function put(item) {
  return run(OUTBOX, "readwrite", (store) => store.put(item));
}

export async function discard(id) {
  await run(OUTBOX, "readwrite", (store) => store.delete(id));
  changed({ discarded: id });
}

class SendError extends Error {
  constructor(status, message, fields) {
    super(message);
    this.status = status;
    this.fields = fields || {};
  }

  // worth trying again later with the same key: no answer, or the server's trouble
  get transient() {
    return this.status === 0 || this.status >= 500;
  }
}

async function call(path, { json, blob, idempotencyKey }) {
  const headers = { Accept: "application/json", "Idempotency-Key": idempotencyKey };
  const bearer = token();
  if (bearer) headers.Authorization = "Bearer " + bearer;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else {
    headers["Content-Type"] = blob.type || "application/octet-stream";
    body = blob;
  }
  let response;
  try {
    response = await fetch(path, { method: "POST", headers, body });
  } catch (err) {
    throw new SendError(0, "network");
  }
  if (!response.ok) {
    let error = { message: response.statusText || String(response.status) };
    try {
      error = (await response.json()).error || error;
    } catch (_) { /* not JSON: the status text */ }
    throw new SendError(response.status, error.message, error.fields);
  }
  return response.json();
}

// The inspection's body with the references of its photos, in the order taken.
function bodyOf(item) {
  return {
    ...item.body,
    results: item.body.results.map((result) => {
      const refs = item.photos.filter((photo) => photo.itemId === result.item_id)
        .map((photo) => photo.ref);
      return refs.length ? { ...result, photos: refs } : result;
    }),
  };
}

async function send(item) {
  item.state = "sending";
  item.tries += 1;
  await put(item);
  changed({ item });
  try {
    for (const photo of item.photos) {
      if (photo.ref) continue;
      const stored = await call("/api/v1/evidence?enterprise_id=" +
                                encodeURIComponent(item.body.enterprise_id),
                                { blob: photo.blob, idempotencyKey: photo.key });
      photo.ref = stored.ref;
      await put(item);
    }
    const inspection = await call("/api/v1/inspections",
                                  { json: bodyOf(item), idempotencyKey: item.id });
    await run(OUTBOX, "readwrite", (store) => store.delete(item.id));
    item.state = "sent";
    item.inspection = inspection;
  } catch (err) {
    if (!(err instanceof SendError)) throw err;
    if (err.transient) {
      item.state = "waiting";
      item.reason = "";
    } else if (err.status === 401) {
      item.state = "waiting";
      item.reason = "login";        // sent once the person logged in again
    } else {
      item.state = "refused";
      item.reason = err.message;
      item.fields = err.fields;
      item.status = err.status;
    }
    await put(item);
  }
  changed({ item });
  return item;
}

let last = Promise.resolve([]);

// Sends the account's waiting inspections, one after the other: each call a
// whole pass after the one before, one pass at a time on this device (a Web
// Lock across tabs where the browser has them).
export function flush() {
  const work = async () => {
    const done = [];
    for (const item of await outbox()) {
      if (item.state === "refused") continue;
      const sent = await send(item);
      done.push(sent);
      if (sent.state === "waiting") break;      // no network (or no login): the rest waits too
    }
    return done;
  };
  const locked = () => (navigator.locks ? navigator.locks.request("einspection-outbox", work)
                                        : work());
  last = last.catch(() => []).then(locked);
  return last;
}
