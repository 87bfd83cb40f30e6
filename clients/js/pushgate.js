// pushgate's browser client: subscribes this browser to Web Push and registers the subscription
// through one of pushgate's four page-side surfaces (docs/api.md §1 WebSocket commands, §2 account
// API, §3 device API, §5 channel subscriptions API). One ES module, no build step, no dependencies;
// its companion service worker is ./sw.js. Every failure becomes a PushgateError carrying the
// surface's own error code, so that a page can tell "Not authenticated" from 8510 from a conflict.

const SURFACES = ["websocket", "account", "device", "channel"];
const DEVICE_ID_STORAGE_KEY = "pushgate.deviceId";
const DEFAULT_REPLY_TIMEOUT_MS = 30000;

export class PushgateError extends Error {
  constructor(message, { surface = null, code, status = null, details = null, requestId = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "PushgateError";
    this.surface = surface;
    this.code = code;
    this.status = status;
    this.details = details;
    this.requestId = requestId;
  }
}

// base64url (padding optional) -> bytes, as pushManager.subscribe wants applicationServerKey.
function base64UrlToBytes(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "="));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

// What browsers put in PushSubscription.options.applicationServerKey (an ArrayBuffer; some older
// ones a view or the string given), as bytes; null when the browser does not say.
function keyBytes(key) {
  if (key === null || key === undefined) return null;
  if (typeof key === "string") return base64UrlToBytes(key);
  if (ArrayBuffer.isView(key)) return new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
  if (Object.prototype.toString.call(key) === "[object ArrayBuffer]") return new Uint8Array(key);
  return null;
}

function sameBytes(left, right) {
  return left !== null && right !== null && left.length === right.length && left.every((byte, i) => byte === right[i]);
}

function madeWithKey(subscription, vapidKey) {
  return sameBytes(keyBytes(subscription.options && subscription.options.applicationServerKey), base64UrlToBytes(vapidKey));
}

function subscriptionJson(subscription) {
  return typeof subscription.toJSON === "function" ? subscription.toJSON() : subscription;
}

function browserError(error) {
  // pushManager.subscribe's DOMExceptions: NotAllowedError is a refused permission, AbortError the
  // browser's push service failing; anything else means this browser cannot do what was asked.
  const name = error && error.name;
  const code = name === "NotAllowedError" ? "permission_denied" : name === "AbortError" || name === "NetworkError" ? "network" : "unsupported";
  return new PushgateError(`the browser refused: ${(error && error.message) || name}`, { code, details: { name }, cause: error });
}

// A just-registered worker is still installing, and pushManager.subscribe() needs an active one.
function activated(registration) {
  const worker = registration.installing || registration.waiting;
  if (registration.active || !worker) return registration;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (registration.active) {
        worker.removeEventListener("statechange", check);
        resolve(registration);
      } else if (worker.state === "redundant") {
        worker.removeEventListener("statechange", check);
        reject(new PushgateError("the service worker failed to install", { code: "unsupported" }));
      }
    };
    worker.addEventListener("statechange", check);
    check();
  });
}

function defaultDeviceId() {
  let storage = null;
  try {
    storage = globalThis.localStorage || null;
  } catch {
    storage = null; // storage disabled (e.g. blocked third-party storage): the id lasts this page only
  }
  const existing = storage && storage.getItem(DEVICE_ID_STORAGE_KEY);
  if (existing) return existing;
  const created = `web-${globalThis.crypto.randomUUID()}`;
  if (storage) storage.setItem(DEVICE_ID_STORAGE_KEY, created);
  return created;
}

function required(options, names) {
  for (const name of names) {
    if (options[name] === undefined || options[name] === null || options[name] === "") {
      throw new TypeError(`Pushgate: option ${name} is required for surface ${options.surface}`);
    }
  }
}

export class Pushgate {
  #options;
  #fetch;
  #WebSocket;
  #deviceId;
  #vapidKey = null; // a promise of the key, kept once it resolved
  #socket = null; // a promise of an open WebSocket
  #pending = null; // the WebSocket command waiting for its reply
  #queue = Promise.resolve(); // WebSocket replies carry no request id: one command at a time
  #listeners = [];

  constructor(options = {}) {
    if (!SURFACES.includes(options.surface)) {
      throw new TypeError(`Pushgate: surface must be one of ${SURFACES.join(", ")}`);
    }
    required(options, ["session"]);
    if (options.surface === "websocket" || !options.vapidKey) required(options, ["wsUrl", "publicKey"]);
    if (options.surface !== "websocket") required(options, ["apiUrl"]);
    if (options.surface === "device" || options.surface === "channel") required(options, ["publicKey"]);
    if (options.surface === "account") required(options, ["accountId"]);
    if (options.surface === "channel") required(options, ["channelId"]);
    this.#options = { ...options, apiUrl: options.apiUrl ? String(options.apiUrl).replace(/\/+$/, "") : options.apiUrl };
    this.#fetch = options.fetch || ((...args) => globalThis.fetch(...args));
    this.#WebSocket = options.WebSocket || globalThis.WebSocket;
    this.#deviceId = options.surface === "device" ? options.deviceId || defaultDeviceId() : null;
    if (options.vapidKey) this.#vapidKey = Promise.resolve(options.vapidKey);
  }

  get surface() {
    return this.#options.surface;
  }

  get deviceId() {
    return this.#deviceId;
  }

  async getVapidKey() {
    if (this.#vapidKey === null) {
      const asked = this.#command({ cmd: "push_get_vapid" }, "push_vapid").then((reply) => reply.key);
      this.#vapidKey = asked;
      asked.catch(() => {
        if (this.#vapidKey === asked) this.#vapidKey = null; // a failure is not kept: the next call asks again
      });
    }
    return this.#vapidKey;
  }

  async subscribe() {
    // Asked first: some browsers grant the prompt only while the click that called us is recent.
    await this.#requestPermission();
    const registration = await this.#registration();
    const vapidKey = await this.getVapidKey();
    const existing = await registration.pushManager.getSubscription();
    if (existing && madeWithKey(existing, vapidKey)) {
      await this.#register(subscriptionJson(existing));
      return existing;
    }
    // The browser keeps one subscription per registration and refuses a second key: drop the old one.
    if (existing) await existing.unsubscribe();
    let created;
    try {
      created = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(vapidKey) });
    } catch (error) {
      throw browserError(error);
    }
    try {
      await this.#register(subscriptionJson(created));
    } catch (error) {
      // Not registered means not subscribed: a browser subscription nobody can push to is dropped.
      await created.unsubscribe().catch(() => false);
      throw error;
    }
    return created;
  }

  async unsubscribe() {
    const registration = await this.#registration();
    const existing = await registration.pushManager.getSubscription();
    if (!existing) return false;
    await this.#unregister(existing.endpoint);
    await existing.unsubscribe();
    return true;
  }

  async isSubscribed() {
    const registration = await this.#registration();
    const existing = await registration.pushManager.getSubscription();
    if (!existing) return false;
    return madeWithKey(existing, await this.getVapidKey());
  }

  // sw.js posts {type:"pushgate.data", id, data} and {type:"pushgate.subscriptionchange", subscription};
  // onMessage receives both, the latter once re-registered (with `error` set if that failed).
  listen(onMessage) {
    const container = globalThis.navigator && globalThis.navigator.serviceWorker;
    if (!container) throw new PushgateError("service workers are not supported", { code: "unsupported" });
    const handler = (event) => {
      const message = event.data;
      if (!message || typeof message !== "object") return;
      if (message.type === "pushgate.data") {
        onMessage(message);
      } else if (message.type === "pushgate.subscriptionchange" && message.subscription) {
        this.#register(message.subscription).then(
          () => onMessage(message),
          (error) => onMessage({ ...message, error }),
        );
      }
    };
    container.addEventListener("message", handler);
    // Messages are queued until the page says it listens (addEventListener alone does not say so).
    if (typeof container.startMessages === "function") container.startMessages();
    const stop = () => {
      container.removeEventListener("message", handler);
      this.#listeners = this.#listeners.filter((entry) => entry !== stop);
    };
    this.#listeners.push(stop);
    return stop;
  }

  close() {
    for (const stop of [...this.#listeners]) stop();
    const socket = this.#socket;
    this.#socket = null;
    this.#failPending(new PushgateError("the client was closed", { surface: "websocket", code: "network" }));
    if (socket) socket.then((ws) => ws.close(1000), () => undefined);
  }

  // -- the browser ---------------------------------------------------------------------------------

  async #registration() {
    const given = this.#options.serviceWorker;
    const container = globalThis.navigator && globalThis.navigator.serviceWorker;
    if (!given && !container) throw new PushgateError("service workers are not supported", { code: "unsupported" });
    const registration = await (given || container.ready);
    if (!registration || !registration.pushManager) throw new PushgateError("push is not supported", { code: "unsupported" });
    return activated(registration);
  }

  async #requestPermission() {
    const Notification = globalThis.Notification;
    if (!Notification) throw new PushgateError("notifications are not supported", { code: "unsupported" });
    // Older Safari takes a callback and returns nothing; the others return a promise.
    const permission = await new Promise((resolve) => {
      const answer = Notification.requestPermission(resolve);
      if (answer && typeof answer.then === "function") answer.then(resolve);
    });
    if (permission !== "granted") {
      throw new PushgateError(`notification permission is ${permission}`, { code: "permission_denied", details: { permission } });
    }
  }

  // -- the surfaces --------------------------------------------------------------------------------

  async #register(subscription) {
    const { endpoint, keys = {} } = subscription;
    const { surface, session, accountId, channelId } = this.#options;
    if (surface === "websocket") {
      await this.#command({ cmd: "push_subscribe", subscription }, "push_subscribed");
    } else if (surface === "account") {
      await this.#http(`/${encodeURIComponent(accountId)}/push_subscribe`, "POST", {},
        { session_id: session, endpoint, key_p256dh: keys.p256dh, key_auth: keys.auth });
    } else if (surface === "device") {
      await this.#http("/me/subscribe", "POST", this.#deviceHeaders(), { type: "web", deviceId: this.#deviceId, subscription });
    } else {
      await this.#http(`/user/v1/channels/${encodeURIComponent(channelId)}/subscriptions`, "POST", this.#channelHeaders(),
        { identifier: endpoint, settings: { endpoint, p256dh: keys.p256dh, auth: keys.auth } });
    }
  }

  async #unregister(endpoint) {
    const { surface, session, accountId, channelId } = this.#options;
    if (surface === "websocket") {
      await this.#command({ cmd: "push_unsubscribe", endpoint }, "push_unsubscribed");
    } else if (surface === "account") {
      await this.#http(`/${encodeURIComponent(accountId)}/push_unsubscribe`, "POST", {}, { session_id: session, endpoint });
    } else if (surface === "device") {
      await this.#http("/me/unsubscribe", "POST", this.#deviceHeaders(), { type: "web", deviceId: this.#deviceId });
    } else {
      await this.#http(`/user/v1/channels/${encodeURIComponent(channelId)}/subscriptions`, "DELETE", this.#channelHeaders(),
        { identifier: endpoint });
    }
  }

  #deviceHeaders() {
    return { "IM-CLIENT-KEY": this.#options.publicKey, "IM-Authorization": this.#options.session };
  }

  #channelHeaders() {
    return { "x-notiflows-api-key": this.#options.publicKey, "x-notiflows-user-key": this.#options.session };
  }

  async #http(path, method, headers, body) {
    const surface = this.#options.surface;
    let response;
    try {
      response = await this.#fetch(`${this.#options.apiUrl}${path}`, {
        method,
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new PushgateError(`${surface}: the request failed: ${error && error.message}`, { surface, code: "network", cause: error });
    }
    const text = await response.text();
    let answer = null;
    try {
      answer = text ? JSON.parse(text) : null;
    } catch {
      answer = null; // not JSON: told apart below by its status only
    }
    const failure = surfaceFailure(surface, response.status, answer);
    if (failure) throw failure;
    return answer;
  }

  // -- the WebSocket -------------------------------------------------------------------------------

  #command(message, replyCmd) {
    const run = () => this.#exchange(message, replyCmd);
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #exchange(message, replyCmd) {
    const ws = await this.#connect();
    return new Promise((resolve, reject) => {
      const timeoutMs = this.#options.replyTimeoutMs || DEFAULT_REPLY_TIMEOUT_MS;
      const pending = { src: message.cmd, replyCmd, resolve, reject, timer: null };
      pending.timer = setTimeout(() => {
        if (this.#pending !== pending) return; // settled otherwise: never fail the next command
        this.#failPending(new PushgateError(`websocket: no reply to ${message.cmd}`, { surface: "websocket", code: "network" }));
      }, timeoutMs);
      this.#pending = pending;
      try {
        ws.send(JSON.stringify(message));
      } catch (error) {
        // closing under us (its close event follows): fail this command now, not at its timeout
        this.#failPending(new PushgateError("websocket: the connection is closing", { surface: "websocket", code: "network", cause: error }));
      }
    });
  }

  #settle(reply) {
    const pending = this.#pending;
    if (!pending || !reply || typeof reply !== "object") return;
    if (reply.cmd === pending.replyCmd) {
      this.#pending = null;
      clearTimeout(pending.timer);
      pending.resolve(reply);
    } else if (reply.cmd === "error" && (reply.src === pending.src || reply.src === null || reply.src === undefined)) {
      this.#pending = null;
      clearTimeout(pending.timer);
      pending.reject(new PushgateError(`websocket: ${reply.val}`, {
        surface: "websocket", code: reply.val, details: { src: reply.src === undefined ? null : reply.src },
      }));
    }
  }

  #failPending(error) {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = null;
    clearTimeout(pending.timer);
    pending.reject(error);
  }

  #connect() {
    if (this.#socket) return this.#socket;
    if (!this.#WebSocket) return Promise.reject(new PushgateError("WebSocket is not supported", { surface: "websocket", code: "unsupported" }));
    const url = new URL(this.#options.wsUrl);
    url.searchParams.set("key", this.#options.publicKey);
    url.searchParams.set("token", this.#options.session);
    const ws = new this.#WebSocket(url.toString());
    const opened = new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(ws));
      ws.addEventListener("message", (event) => {
        let reply = null;
        try {
          reply = JSON.parse(event.data);
        } catch {
          return; // not a reply pushgate sends
        }
        this.#settle(reply);
      });
      ws.addEventListener("close", (event) => {
        // Before "open" this is a refused upgrade (an unknown key) or no server at all.
        const error = new PushgateError(`websocket: the connection closed (${event.code})`, {
          surface: "websocket", code: "network", details: { closeCode: event.code },
        });
        reject(error);
        if (this.#socket === opened) this.#socket = null;
        this.#failPending(error);
      });
    });
    this.#socket = opened;
    return opened;
  }
}

// An HTTP answer -> the surface's error, or null when it is a success (docs/errors.md).
function surfaceFailure(surface, status, answer) {
  const body = answer && typeof answer === "object" ? answer : {};
  if (surface === "account" && typeof body.error_no === "number") {
    // Field errors come with HTTP 200; every other error repeats its status in error_no.
    return new PushgateError(`account: ${body.error_message}`, { surface, code: body.error_no, status });
  }
  if (surface === "device" && body.error && typeof body.error === "object" && (status >= 400 || body.RC !== 0)) {
    return new PushgateError(`device: ${body.error.message}`, { surface, code: body.error.code, status, details: { RC: body.RC, RM: body.RM } });
  }
  if (surface === "channel" && status >= 400 && body.error && typeof body.error === "object") {
    return new PushgateError(`channel: ${body.error.message}`, {
      surface, code: body.error.code, status, details: body.error.details || null, requestId: body.error.request_id || null,
    });
  }
  if (status >= 200 && status < 300) return null;
  // Not the surface's envelope: API Gateway's own answers (throttling, unknown route) or a proxy's.
  const message = typeof body.message === "string" ? body.message : `HTTP ${status}`;
  return new PushgateError(`${surface}: ${message}`, { surface, code: "http_error", status });
}
