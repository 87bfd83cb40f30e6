// pushgate's service worker (register it with {type: "module"}): shows a pushgate push as a
// notification, or hands a data-only push to the open pages (pushgate.listen), once per push id;
// opens or focuses the push's url on a click; re-subscribes when the browser replaces the
// subscription and tells the pages, so that they register the new one through their surface.
// Self-contained (no imports): the demo serves it alone, and a page may copy it as is.

const scope = self; // the ServiceWorkerGlobalScope (the unit tests give a fake one before importing)

const DB_NAME = "pushgate";
const DB_STORE = "state";
const SEEN_KEY = "seen-push-ids";
const SEEN_LIMIT = 500; // the sender retries within minutes: the last 500 ids are plenty

// -- the push ids already handled ------------------------------------------------------------------
// The sender delivers at least once; the payload's id makes what this worker shows exactly-once.
// Kept in IndexedDB because the browser stops an idle worker (and its memory) at any time.

let database = null; // a promise of the IDBDatabase, or of null without IndexedDB
const seenInMemory = []; // used only when IndexedDB cannot be opened

function openDatabase() {
  if (database === null) {
    database = new Promise((resolve) => {
      if (!scope.indexedDB) return resolve(null);
      const request = scope.indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(DB_STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => resolve(null);
    });
  }
  return database;
}

function rememberInMemory(id) {
  if (seenInMemory.includes(id)) return false;
  seenInMemory.push(id);
  if (seenInMemory.length > SEEN_LIMIT) seenInMemory.splice(0, seenInMemory.length - SEEN_LIMIT);
  return true;
}

// true when `id` is new (and is now remembered), false when it was handled before. The read and
// the write are one readwrite transaction, which IndexedDB runs alone: two copies of a push
// arriving together cannot both see the id as new.
async function rememberPushId(id) {
  const db = await openDatabase();
  if (db === null) return rememberInMemory(id);
  return new Promise((resolve) => {
    let isNew = false;
    let transaction;
    try {
      transaction = db.transaction(DB_STORE, "readwrite");
    } catch {
      return resolve(rememberInMemory(id));
    }
    const store = transaction.objectStore(DB_STORE);
    const read = store.get(SEEN_KEY);
    read.onsuccess = () => {
      const seen = Array.isArray(read.result) ? read.result : [];
      if (seen.includes(id)) return;
      isNew = true;
      store.put([...seen, id].slice(-SEEN_LIMIT), SEEN_KEY);
    };
    transaction.oncomplete = () => resolve(isNew);
    // A storage failure must not lose a push: show it, remembered in memory at least.
    transaction.onerror = () => resolve(rememberInMemory(id));
    transaction.onabort = () => resolve(rememberInMemory(id));
  });
}

// -- push --------------------------------------------------------------------------------------------

function readPayload(data) {
  if (!data) return null;
  try {
    const payload = data.json();
    return payload && typeof payload === "object" && !Array.isArray(payload) ? payload : null;
  } catch {
    return null; // not a pushgate push
  }
}

async function windowClients() {
  return scope.clients.matchAll({ type: "window", includeUncontrolled: true });
}

async function postToWindows(message) {
  for (const client of await windowClients()) client.postMessage(message);
}

async function showNotification(id, notification) {
  const options = { body: notification.body, tag: id, data: { id, url: notification.url } };
  if (notification.icon) options.icon = notification.icon;
  await scope.registration.showNotification(String(notification.title), options);
}

async function handlePush(data) {
  const payload = readPayload(data);
  if (payload === null) return;
  const { id, notification } = payload;
  if (typeof id === "string" && !(await rememberPushId(id))) return;
  if (notification && typeof notification === "object" && notification.title) {
    await showNotification(id, notification);
  } else {
    await postToWindows({ type: "pushgate.data", id, data: payload.data === undefined ? null : payload.data });
  }
}

// -- notificationclick -------------------------------------------------------------------------------

// The url to open: same origin (relative) or absolute, http(s) only (never javascript: or data:).
function clickTarget(url) {
  const base = scope.registration.scope || scope.location.href;
  if (typeof url !== "string" || url === "") return base;
  let target;
  try {
    target = new URL(url, scope.location.href);
  } catch {
    return base;
  }
  return target.protocol === "https:" || target.protocol === "http:" ? target.href : base;
}

async function handleClick(notification) {
  notification.close();
  const target = clickTarget(notification.data && notification.data.url);
  const open = (await windowClients()).find((client) => client.url === target);
  if (open && typeof open.focus === "function") return open.focus();
  return scope.clients.openWindow(target);
}

// -- pushsubscriptionchange --------------------------------------------------------------------------

async function handleSubscriptionChange(event) {
  let subscription = event.newSubscription || null;
  if (subscription === null) {
    const key = event.oldSubscription && event.oldSubscription.options && event.oldSubscription.options.applicationServerKey;
    if (!key) return; // nothing says which key to subscribe with; the page subscribes again on its next visit
    subscription = await scope.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  await postToWindows({ type: "pushgate.subscriptionchange", subscription: subscription.toJSON() });
}

// -- the listeners -----------------------------------------------------------------------------------

scope.addEventListener("install", () => scope.skipWaiting());
scope.addEventListener("activate", (event) => event.waitUntil(scope.clients.claim()));
scope.addEventListener("push", (event) => event.waitUntil(handlePush(event.data)));
scope.addEventListener("notificationclick", (event) => event.waitUntil(handleClick(event.notification)));
scope.addEventListener("pushsubscriptionchange", (event) => event.waitUntil(handleSubscriptionChange(event)));
