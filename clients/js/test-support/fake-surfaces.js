// In-memory stand-ins for pushgate's four page-side surfaces, answering as docs/api.md §1, §2, §3
// and §5 say (paths, credentials, envelopes, HTTP-200 field errors, ownership conflicts), so that
// the unit tests of pushgate.js see the same wire as the real stack. Kept outside test/ because
// `node --test test/` runs every .js file under a test/ directory as a test file.

export const PUBLIC_KEY = "pk_unit_test_public_key_0123456789";
export const ACCOUNT_ID = 123;
export const CHANNEL_ID = "0b7e6c1e-8a51-4d7c-9a0e-3f1b2c4d5e6f";
export const SESSION = "ses_alice_session";
export const USER_JWT = "eyJhbGciOiJSUzI1NiJ9.alice.signature";
export const BOB_SESSION = "ses_bob_session";
export const PUSH_HOST = "fcm.googleapis.com";

export function base64Url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function bytesOf(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")), (c) => c.charCodeAt(0));
}

// A P-256 public key's shape: 65 bytes, uncompressed (0x04 first).
export function randomPointKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(65));
  bytes[0] = 4;
  return base64Url(bytes);
}

export const VAPID_KEY = randomPointKey();
export const OTHER_VAPID_KEY = randomPointKey();

// The server side of every surface: one table of subscriptions, whichever surface made them (§6).
export class Backend {
  constructor() {
    this.identities = new Map([
      [SESSION, { user: "alice", accountId: ACCOUNT_ID, jwt: false }],
      [USER_JWT, { user: "alice", accountId: ACCOUNT_ID, jwt: true }],
      [BOB_SESSION, { user: "bob", accountId: ACCOUNT_ID, jwt: false }],
    ]);
    this.subscriptions = new Map(); // endpoint -> {user, p256dh, auth}
    this.devices = new Map(); // `${user} ${deviceId}` -> endpoint
    this.log = []; // what reached the server, in order, shared with the fake browser
    this.vapidKey = VAPID_KEY;
  }

  identity(token) {
    return this.identities.get(token) || null;
  }

  // null when valid, else which part breaks §6
  invalidPart(endpoint, p256dh, auth) {
    let url = null;
    try {
      url = new URL(endpoint);
    } catch {
      return "endpoint";
    }
    if (url.protocol !== "https:" || url.hostname !== PUSH_HOST) return "endpoint";
    try {
      if (bytesOf(p256dh).length !== 65) return "p256dh";
      if (bytesOf(auth).length !== 16) return "auth";
    } catch {
      return "p256dh";
    }
    return null;
  }

  // "ok" or "conflict" (another user holds the endpoint with other keys)
  upsert(user, endpoint, p256dh, auth) {
    const held = this.subscriptions.get(endpoint);
    if (held && held.user !== user && (held.p256dh !== p256dh || held.auth !== auth)) return "conflict";
    this.subscriptions.set(endpoint, { user, p256dh, auth });
    return "ok";
  }

  remove(user, endpoint) {
    const held = this.subscriptions.get(endpoint);
    if (!held || held.user !== user) return 0;
    this.subscriptions.delete(endpoint);
    return 1;
  }

  endpointsOf(user) {
    return [...this.subscriptions].filter(([, held]) => held.user === user).map(([endpoint]) => endpoint);
  }
}

// -- §1: the WebSocket commands ------------------------------------------------------------------------

function event(type, fields) {
  return Object.assign(new Event(type), fields);
}

export function fakeWebSocketClass(backend) {
  return class FakeWebSocket extends EventTarget {
    static instances = [];
    static answering = true; // false: commands are received and never answered

    constructor(url) {
      super();
      this.url = url;
      this.sent = [];
      this.closedWith = null;
      FakeWebSocket.instances.push(this);
      const query = new URL(url).searchParams;
      setTimeout(() => {
        if (query.get("key") !== PUBLIC_KEY) {
          // A refused upgrade, as a browser reports it: error, then close 1006, never open.
          this.dispatchEvent(new Event("error"));
          this.dispatchEvent(event("close", { code: 1006 }));
          return;
        }
        const identity = backend.identity(query.get("token"));
        this.user = identity ? identity.user : null;
        this.dispatchEvent(new Event("open"));
      });
    }

    send(text) {
      const message = JSON.parse(text);
      this.sent.push(message);
      backend.log.push(`ws ${message.cmd}`);
      if (!FakeWebSocket.answering) return;
      setTimeout(() => {
        if (this.closedWith === null) this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(this.answer(message)) }));
      });
    }

    close(code = 1005) {
      this.closedWith = code;
      setTimeout(() => this.dispatchEvent(event("close", { code })));
    }

    // The reply of docs/api.md §1 to one command
    answer(message) {
      const error = (val) => ({ cmd: "error", src: message.cmd, val });
      if (!["push_get_vapid", "push_subscribe", "push_unsubscribe"].includes(message.cmd)) return error("Unknown command");
      if (this.user === null) return error("Not authenticated");
      if (message.cmd === "push_get_vapid") return { cmd: "push_vapid", key: backend.vapidKey };
      if (message.cmd === "push_unsubscribe") {
        if (message.endpoint === undefined) return error("Missing endpoint");
        backend.remove(this.user, message.endpoint);
        return { cmd: "push_unsubscribed", success: true };
      }
      const subscription = message.subscription;
      if (!subscription) return error("Missing subscription object");
      const { endpoint, keys = {} } = subscription;
      if (typeof endpoint !== "string" || typeof keys.p256dh !== "string" || typeof keys.auth !== "string") {
        return error("subscription must include endpoint, keys.p256dh and keys.auth");
      }
      const invalid = backend.invalidPart(endpoint, keys.p256dh, keys.auth);
      if (invalid) return error(invalid === "endpoint" ? "Invalid push endpoint" : "Invalid subscription keys");
      if (backend.upsert(this.user, endpoint, keys.p256dh, keys.auth) === "conflict") return error("Endpoint belongs to another user");
      return { cmd: "push_subscribed", success: true };
    }
  };
}

// -- §2, §3, §5: the HTTP surfaces ---------------------------------------------------------------------

const json = (status, body, headers = {}) =>
  new Response(body === null ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

function accountApi(backend, operation, accountId, body) {
  const identity = backend.identity(body.session_id);
  if (!identity) return json(401, { error_no: 401, error_message: "Unauthorized" });
  if (String(identity.accountId) !== accountId) return json(403, { error_no: 403, error_message: "Forbidden" });
  const fieldError = (errorNo, message) => json(200, { error_no: errorNo, error_message: message });
  if (operation === "push_unsubscribe") {
    if (!body.endpoint) return fieldError(8601, "endpoint is required");
    backend.remove(identity.user, body.endpoint);
    return json(200, { data: { operation_status: "SUCCESS" } });
  }
  const required = [["endpoint", 8501], ["key_p256dh", 8502], ["key_auth", 8503]];
  for (const [field, errorNo] of required) if (!body[field]) return fieldError(errorNo, `${field} is required`);
  const invalid = backend.invalidPart(body.endpoint, body.key_p256dh, body.key_auth);
  if (invalid === "endpoint") return fieldError(8507, "endpoint is not a valid push service URL");
  if (invalid === "p256dh") return fieldError(8508, "key_p256dh is not a valid P-256 public key");
  if (invalid === "auth") return fieldError(8509, "key_auth must be 16 bytes");
  if (backend.upsert(identity.user, body.endpoint, body.key_p256dh, body.key_auth) === "conflict") {
    return fieldError(8510, "endpoint belongs to another user");
  }
  return json(200, { data: { push_subscription_id: backend.subscriptions.size, operation_status: "SUCCESS" } });
}

function deviceApi(backend, operation, headers, body) {
  const fail = (status, rm, code, message) => json(status, { RC: status, RM: rm, error: { code, message } });
  const identity = headers["im-client-key"] === PUBLIC_KEY ? backend.identity(headers["im-authorization"]) : null;
  if (!identity) return fail(401, "Unauthorized", "INVALID_TOKEN", "Invalid or expired token");
  if (!body.type || !body.deviceId) return fail(400, "Bad Request", "MISSING_PARAMETER", "type and deviceId are required");
  const deviceKey = `${identity.user} ${body.deviceId}`;
  if (operation === "unsubscribe") {
    const endpoint = backend.devices.get(deviceKey);
    backend.devices.delete(deviceKey);
    const removed = endpoint === undefined ? 0 : backend.remove(identity.user, endpoint);
    return json(200, { RC: 0, RM: "OK", result: { n: removed, ok: 1 } });
  }
  const { endpoint, keys = {} } = body.subscription || {};
  const invalid = backend.invalidPart(endpoint, keys.p256dh, keys.auth);
  if (invalid) return fail(400, "Bad Request", "INVALID_PARAMETER", `subscription.${invalid === "endpoint" ? "endpoint" : `keys.${invalid}`} is invalid`);
  if (backend.upsert(identity.user, endpoint, keys.p256dh, keys.auth) === "conflict") {
    return fail(409, "Conflict", "DEVICE_OWNED_BY_ANOTHER_USER", "token belongs to another user");
  }
  const previous = backend.devices.get(deviceKey);
  if (previous !== undefined && previous !== endpoint) backend.remove(identity.user, previous); // one record per device
  backend.devices.set(deviceKey, endpoint);
  return json(200, { RC: 0, RM: "OK", result: { n: 1, ok: 1 } });
}

function channelApi(backend, method, channelId, headers, body) {
  const requestId = "req_unit_test";
  const fail = (status, code, message, details) =>
    json(status, { error: { type: `/docs/errors#${code}-${status}`, code, message, status, request_id: requestId, details } }, { "x-request-id": requestId });
  const identity = headers["x-notiflows-api-key"] === PUBLIC_KEY ? backend.identity(headers["x-notiflows-user-key"]) : null;
  if (!identity || !identity.jwt) return fail(401, "unauthenticated", "Invalid API key or user token", { auth: "api_key" });
  if (channelId !== CHANNEL_ID) return fail(404, "not_found", "Channel not found", { resource: "channel" });
  if (method === "DELETE") {
    backend.remove(identity.user, body.identifier);
    return new Response(null, { status: 204 });
  }
  const settings = body.settings || {};
  if (settings.endpoint !== undefined && settings.endpoint !== body.identifier) {
    return fail(400, "bad_request", "settings.endpoint is invalid (differs from identifier)", { reason: "invalid_param", param: "settings.endpoint" });
  }
  const invalid = backend.invalidPart(body.identifier, settings.p256dh, settings.auth);
  if (invalid) return fail(400, "bad_request", `${invalid} is invalid`, { reason: "invalid_param", param: invalid });
  if (backend.upsert(identity.user, body.identifier, settings.p256dh, settings.auth) === "conflict") {
    return fail(409, "conflict", "identifier is subscribed by another user", { param: "identifier" });
  }
  const now = "2026-12-03T10:00:00Z";
  return json(201, { id: "sub_1", channel_id: CHANNEL_ID, identifier: body.identifier, created_at: now, updated_at: now });
}

// A fetch answering as the local stack's HTTP API does, recording every request.
export function fakeFetch(backend, apiUrl) {
  const requests = [];
  async function fetch(url, init = {}) {
    const headers = Object.fromEntries(Object.entries(init.headers || {}).map(([name, value]) => [name.toLowerCase(), value]));
    const body = init.body === undefined ? null : JSON.parse(init.body);
    const method = init.method || "GET";
    requests.push({ url, method, headers, body });
    const path = url.startsWith(apiUrl) ? url.slice(apiUrl.length) : null;
    backend.log.push(`http ${method} ${path}`);
    let match;
    if (path !== null && (match = /^\/(\d+)\/(push_subscribe|push_unsubscribe)$/.exec(path)) && method === "POST") {
      return accountApi(backend, match[2], match[1], body);
    }
    if (path !== null && (match = /^\/me\/(subscribe|unsubscribe)$/.exec(path)) && method === "POST") {
      return deviceApi(backend, match[1], headers, body);
    }
    if (path !== null && (match = /^\/user\/v1\/channels\/([^/]+)\/subscriptions$/.exec(path)) && ["POST", "DELETE"].includes(method)) {
      return channelApi(backend, method, decodeURIComponent(match[1]), headers, body);
    }
    return json(404, { message: "Not Found" });
  }
  fetch.requests = requests;
  return fetch;
}
