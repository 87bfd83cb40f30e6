// pushgate.js against fake surfaces that answer as docs/api.md says (test-support/): what it sends
// on each surface, how it uses the browser's PushManager, and how every surface's failure becomes
// a PushgateError.

import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";

import { Pushgate, PushgateError } from "../pushgate.js";
import { installBrowser } from "../test-support/fake-browser.js";
import {
  ACCOUNT_ID, BOB_SESSION, Backend, CHANNEL_ID, OTHER_VAPID_KEY, PUBLIC_KEY, SESSION, USER_JWT, VAPID_KEY,
  base64Url, fakeFetch, fakeWebSocketClass,
} from "../test-support/fake-surfaces.js";

const API_URL = "http://127.0.0.1:3000";
const WS_URL = "ws://127.0.0.1:3001";
const SURFACES = ["websocket", "account", "device", "channel"];

let cleanups = [];
afterEach(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
  cleanups = [];
});

function setup(surface, { options = {}, permission = "granted", backend = new Backend() } = {}) {
  const browser = installBrowser(backend.log, { permission });
  const fetch = fakeFetch(backend, API_URL);
  const WebSocket = fakeWebSocketClass(backend);
  const pushgate = new Pushgate({
    surface,
    apiUrl: `${API_URL}/`,
    wsUrl: WS_URL,
    publicKey: PUBLIC_KEY,
    session: surface === "channel" ? USER_JWT : SESSION,
    accountId: ACCOUNT_ID,
    channelId: CHANNEL_ID,
    deviceId: "device-1",
    serviceWorker: Promise.resolve(browser.registration),
    fetch,
    WebSocket,
    ...options,
  });
  cleanups.push(() => pushgate.close(), browser.uninstall);
  return { pushgate, backend, browser, fetch, WebSocket };
}

// Resolves once `condition()` holds (checked after each turn of the event loop); fails, rather
// than hangs, when it never does.
async function until(condition, turns = 1000) {
  for (let turn = 0; !condition(); turn += 1) {
    if (turn === turns) throw new assert.AssertionError({ message: `still false: ${condition}` });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

describe("getVapidKey", () => {
  test("asks push_get_vapid on wsUrl?key=pk&token=session once, and returns the key", async () => {
    const { pushgate, WebSocket } = setup("account");
    assert.equal(await pushgate.getVapidKey(), VAPID_KEY);
    assert.equal(await pushgate.getVapidKey(), VAPID_KEY);
    assert.equal(WebSocket.instances.length, 1);
    const url = new URL(WebSocket.instances[0].url);
    assert.equal(`${url.protocol}//${url.host}${url.pathname}`, `${WS_URL}/`);
    assert.equal(url.searchParams.get("key"), PUBLIC_KEY);
    assert.equal(url.searchParams.get("token"), SESSION);
    assert.deepEqual(WebSocket.instances[0].sent, [{ cmd: "push_get_vapid" }]);
  });

  test("the vapidKey option skips the WebSocket", async () => {
    const { pushgate, WebSocket } = setup("device", { options: { vapidKey: OTHER_VAPID_KEY, wsUrl: undefined } });
    assert.equal(await pushgate.getVapidKey(), OTHER_VAPID_KEY);
    assert.equal(WebSocket.instances.length, 0);
  });

  test("an error envelope becomes a PushgateError with the envelope's val, and is not kept", async () => {
    const { pushgate, backend, WebSocket } = setup("account", { options: { session: "ses_unknown" } });
    const error = await rejection(pushgate.getVapidKey());
    assert.ok(error instanceof PushgateError);
    assert.equal(error.name, "PushgateError");
    assert.deepEqual([error.surface, error.code, error.status, error.details], ["websocket", "Not authenticated", null, { src: "push_get_vapid" }]);
    assert.ok(!error.message.includes("ses_unknown"));
    backend.identities.set("ses_unknown", { user: "carol", accountId: ACCOUNT_ID, jwt: false });
    pushgate.close();
    assert.equal(await pushgate.getVapidKey(), VAPID_KEY); // asked again on a new connection
    assert.equal(WebSocket.instances.length, 2);
  });

  test("a refused upgrade (unknown public key) is a network error", async () => {
    const { pushgate } = setup("account", { options: { publicKey: "pk_not_this_app_0000000000000" } });
    const error = await rejection(pushgate.getVapidKey());
    assert.deepEqual([error.surface, error.code, error.status], ["websocket", "network", null]);
  });

  test("a connection that closes while a command waits fails it, and the next call reconnects", async () => {
    const { pushgate, WebSocket } = setup("account");
    WebSocket.answering = false;
    const asked = pushgate.getVapidKey();
    await until(() => WebSocket.instances.length === 1 && WebSocket.instances[0].sent.length === 1);
    WebSocket.instances[0].dispatchEvent(Object.assign(new Event("close"), { code: 1001 }));
    const error = await rejection(asked);
    assert.deepEqual([error.code, error.details], ["network", { closeCode: 1001 }]);
    WebSocket.answering = true;
    assert.equal(await pushgate.getVapidKey(), VAPID_KEY);
    assert.equal(WebSocket.instances.length, 2);
  });

  test("a send on a connection that is closing fails the command at once", async () => {
    const { pushgate, WebSocket } = setup("websocket", { options: { replyTimeoutMs: 60000 } });
    assert.equal(await pushgate.getVapidKey(), VAPID_KEY);
    WebSocket.instances[0].send = () => { throw new DOMException("Still in CLOSING or CLOSED state.", "InvalidStateError"); };
    const error = await rejection(pushgate.subscribe());
    assert.deepEqual([error.surface, error.code], ["websocket", "network"]);
  });

  test("a command with no reply fails after replyTimeoutMs", async () => {
    const { pushgate, WebSocket } = setup("account", { options: { replyTimeoutMs: 20 } });
    WebSocket.answering = false;
    const asked = pushgate.getVapidKey();
    const error = await rejection(asked);
    assert.deepEqual([error.surface, error.code], ["websocket", "network"]);
  });
});

// What each surface must have received for a subscription, per docs/api.md
function expectRegistered(surface, { fetch, WebSocket }, json) {
  if (surface === "websocket") {
    const sent = WebSocket.instances.flatMap((socket) => socket.sent);
    assert.deepEqual(sent.at(-1), { cmd: "push_subscribe", subscription: json });
    return;
  }
  const request = fetch.requests.at(-1);
  assert.equal(request.method, "POST");
  assert.equal(request.headers["content-type"], "application/json");
  if (surface === "account") {
    assert.equal(request.url, `${API_URL}/${ACCOUNT_ID}/push_subscribe`);
    assert.deepEqual(request.body, { session_id: SESSION, endpoint: json.endpoint, key_p256dh: json.keys.p256dh, key_auth: json.keys.auth });
  } else if (surface === "device") {
    assert.equal(request.url, `${API_URL}/me/subscribe`);
    assert.equal(request.headers["im-client-key"], PUBLIC_KEY);
    assert.equal(request.headers["im-authorization"], SESSION);
    assert.deepEqual(request.body, { type: "web", deviceId: "device-1", subscription: json });
  } else {
    assert.equal(request.url, `${API_URL}/user/v1/channels/${CHANNEL_ID}/subscriptions`);
    assert.equal(request.headers["x-notiflows-api-key"], PUBLIC_KEY);
    assert.equal(request.headers["x-notiflows-user-key"], USER_JWT);
    assert.deepEqual(request.body, { identifier: json.endpoint, settings: { endpoint: json.endpoint, p256dh: json.keys.p256dh, auth: json.keys.auth } });
  }
}

for (const surface of SURFACES) {
  describe(`surface ${surface}`, () => {
    test("subscribe: asks permission, subscribes with the app's key, registers through the surface", async () => {
      const context = setup(surface);
      const { pushgate, backend, browser } = context;
      const subscription = await pushgate.subscribe();
      assert.deepEqual(browser.permissionRequests, ["granted"]);
      assert.equal(browser.pushManager.subscribeCalls.length, 1);
      const options = browser.pushManager.subscribeCalls[0];
      assert.equal(options.userVisibleOnly, true);
      assert.ok(options.applicationServerKey instanceof Uint8Array);
      assert.equal(base64Url(options.applicationServerKey), VAPID_KEY);
      assert.equal(subscription, browser.pushManager.current);
      expectRegistered(surface, context, subscription.toJSON());
      assert.deepEqual(backend.endpointsOf("alice"), [subscription.endpoint]);
      assert.equal(await pushgate.isSubscribed(), true);
    });

    test("subscribe: reuses the browser's subscription made with the same key", async () => {
      const context = setup(surface);
      const held = context.browser.pushManager.hold(VAPID_KEY);
      const subscription = await context.pushgate.subscribe();
      assert.equal(subscription, held);
      assert.equal(context.browser.pushManager.subscribeCalls.length, 0);
      expectRegistered(surface, context, held.toJSON());
      assert.deepEqual(context.backend.endpointsOf("alice"), [held.endpoint]);
    });

    test("subscribe: a subscription made with another key is dropped in the browser, then a new one is made", async () => {
      const context = setup(surface);
      const old = context.browser.pushManager.hold(OTHER_VAPID_KEY);
      assert.equal(await context.pushgate.isSubscribed(), false);
      const subscription = await context.pushgate.subscribe();
      assert.notEqual(subscription.endpoint, old.endpoint);
      assert.equal(base64Url(new Uint8Array(subscription.options.applicationServerKey)), VAPID_KEY);
      const browserSteps = context.backend.log.filter((entry) => entry.startsWith("browser"));
      assert.deepEqual(browserSteps, ["browser unsubscribe", "browser subscribe"]);
      expectRegistered(surface, context, subscription.toJSON());
    });

    test("subscribe: permission not granted is permission_denied, and nothing is subscribed or sent", async () => {
      const { pushgate, browser, backend } = setup(surface, { options: { vapidKey: VAPID_KEY }, permission: "denied" });
      const error = await rejection(pushgate.subscribe());
      assert.ok(error instanceof PushgateError);
      assert.deepEqual([error.code, error.surface, error.status], ["permission_denied", null, null]);
      assert.equal(browser.pushManager.subscribeCalls.length, 0);
      assert.deepEqual(backend.log, []);
    });

    test("subscribe: a refusal of the surface drops the new browser subscription and throws the surface's error", async () => {
      // bob holds the endpoint the browser will get, with other keys: the surface's conflict
      const backend = new Backend();
      const context = setup(surface, { backend });
      const realSubscribe = context.browser.pushManager.subscribe.bind(context.browser.pushManager);
      context.browser.pushManager.subscribe = async (options) => {
        const created = await realSubscribe(options);
        backend.subscriptions.set(created.endpoint, { user: "bob", p256dh: "other", auth: "other" });
        return created;
      };
      const error = await rejection(context.pushgate.subscribe());
      const expected = { websocket: "Endpoint belongs to another user", account: 8510, device: "DEVICE_OWNED_BY_ANOTHER_USER", channel: "conflict" };
      assert.deepEqual([error.surface, error.code], [surface, expected[surface]]);
      assert.equal(context.browser.pushManager.current, null);
      assert.equal(await context.pushgate.isSubscribed(), false);
    });

    test("unsubscribe: the server first, then the browser; true when there was one", async () => {
      const context = setup(surface);
      const subscription = await context.pushgate.subscribe();
      context.backend.log.length = 0;
      assert.equal(await context.pushgate.unsubscribe(), true);
      assert.equal(context.browser.pushManager.current, null);
      assert.deepEqual(context.backend.endpointsOf("alice"), []);
      assert.equal(context.backend.log.at(-1), "browser unsubscribe");
      assert.equal(context.backend.log.length, 2);
      if (surface === "websocket") {
        assert.deepEqual(context.WebSocket.instances[0].sent.at(-1), { cmd: "push_unsubscribe", endpoint: subscription.endpoint });
      } else {
        const request = context.fetch.requests.at(-1);
        const expected = {
          account: ["POST", `${API_URL}/${ACCOUNT_ID}/push_unsubscribe`, { session_id: SESSION, endpoint: subscription.endpoint }],
          device: ["POST", `${API_URL}/me/unsubscribe`, { type: "web", deviceId: "device-1" }],
          channel: ["DELETE", `${API_URL}/user/v1/channels/${CHANNEL_ID}/subscriptions`, { identifier: subscription.endpoint }],
        }[surface];
        assert.deepEqual([request.method, request.url, request.body], expected);
      }
      assert.equal(await context.pushgate.isSubscribed(), false);
    });

    test("unsubscribe: an endpoint the server does not know still unsubscribes the browser", async () => {
      const context = setup(surface);
      context.browser.pushManager.hold(VAPID_KEY); // never registered with the server
      assert.equal(await context.pushgate.unsubscribe(), true);
      assert.equal(context.browser.pushManager.current, null);
    });

    test("unsubscribe: nothing in the browser is false and asks no server", async () => {
      const context = setup(surface, { options: { vapidKey: VAPID_KEY } });
      assert.equal(await context.pushgate.unsubscribe(), false);
      assert.deepEqual(context.backend.log, []);
    });

    test("unsubscribe: a refusal of the server keeps the browser subscription", async () => {
      const context = setup(surface);
      const subscription = await context.pushgate.subscribe();
      context.backend.identities.clear(); // the session expired
      context.pushgate.close(); // a WebSocket authenticates at connect: the next connection is refused
      const error = await rejection(context.pushgate.unsubscribe());
      assert.ok(error instanceof PushgateError);
      assert.equal(context.browser.pushManager.current, subscription);
    });

    test("listen: data messages reach the page, subscriptionchange is re-registered through the surface", async () => {
      const context = setup(surface);
      const received = [];
      let settled;
      const done = new Promise((resolve) => { settled = resolve; });
      context.pushgate.listen((message) => {
        received.push(message);
        if (message.type === "pushgate.subscriptionchange") settled();
      });
      assert.equal(context.browser.container.started, true);
      context.browser.container.deliver({ type: "pushgate.data", id: "p1", data: { n: 1 } });
      context.browser.container.deliver({ type: "something.else" });
      context.browser.container.deliver("not an object");
      const renewed = context.browser.pushManager.hold(VAPID_KEY).toJSON();
      context.browser.container.deliver({ type: "pushgate.subscriptionchange", subscription: renewed });
      await done;
      assert.deepEqual(received, [
        { type: "pushgate.data", id: "p1", data: { n: 1 } },
        { type: "pushgate.subscriptionchange", subscription: renewed },
      ]);
      expectRegistered(surface, context, renewed);
      assert.ok(context.backend.endpointsOf("alice").includes(renewed.endpoint));
    });
  });
}

describe("listen", () => {
  test("a failed re-registration reaches onMessage with its error", async () => {
    const context = setup("account");
    const message = await new Promise((resolve) => {
      context.pushgate.listen(resolve);
      context.browser.container.deliver({ type: "pushgate.subscriptionchange", subscription: { endpoint: "https://evil.example/x", keys: { p256dh: "a", auth: "b" } } });
    });
    assert.ok(message.error instanceof PushgateError);
    assert.equal(message.error.code, 8507);
  });

  test("the returned function and close() stop listening", async () => {
    const context = setup("device");
    const first = [];
    const second = [];
    const stop = context.pushgate.listen((message) => first.push(message.id));
    context.pushgate.listen((message) => second.push(message.id));
    context.browser.container.deliver({ type: "pushgate.data", id: "a", data: null });
    stop();
    context.browser.container.deliver({ type: "pushgate.data", id: "b", data: null });
    context.pushgate.close();
    context.browser.container.deliver({ type: "pushgate.data", id: "c", data: null });
    assert.deepEqual([first, second], [["a"], ["a", "b"]]);
  });
});

describe("errors of each surface", () => {
  test("websocket: the envelope's val is the code", async () => {
    const { pushgate } = setup("websocket");
    const held = { endpoint: "https://fcm.googleapis.com/fcm/send/x", keys: { p256dh: "short", auth: "short" } };
    const browser = globalThis.navigator.serviceWorker;
    const message = await new Promise((resolve) => {
      pushgate.listen(resolve);
      browser.deliver({ type: "pushgate.subscriptionchange", subscription: held });
    });
    assert.deepEqual([message.error.surface, message.error.code, message.error.details], ["websocket", "Invalid subscription keys", { src: "push_subscribe" }]);
  });

  test("account: a field error comes with HTTP 200 and its error_no is the code", async () => {
    const { pushgate } = setup("account");
    const message = await new Promise((resolve) => {
      pushgate.listen(resolve);
      globalThis.navigator.serviceWorker.deliver({ type: "pushgate.subscriptionchange", subscription: { endpoint: "", keys: { p256dh: "x", auth: "y" } } });
    });
    assert.deepEqual([message.error.surface, message.error.code, message.error.status, message.error.message],
      ["account", 8501, 200, "account: endpoint is required"]);
  });

  test("account: 401 and 403 keep their error_no and status", async () => {
    const unknown = await rejection(setup("account", { options: { session: "ses_expired", vapidKey: VAPID_KEY } }).pushgate.subscribe());
    assert.deepEqual([unknown.code, unknown.status], [401, 401]);
    assert.ok(!unknown.message.includes("ses_expired"));
    const otherAccount = await rejection(setup("account", { options: { accountId: 999, vapidKey: VAPID_KEY } }).pushgate.subscribe());
    assert.deepEqual([otherAccount.code, otherAccount.status, otherAccount.message], [403, 403, "account: Forbidden"]);
  });

  test("device: error.code is the code, RC and RM are details", async () => {
    const error = await rejection(setup("device", { options: { session: "ses_expired", vapidKey: VAPID_KEY } }).pushgate.subscribe());
    assert.deepEqual([error.surface, error.code, error.status, error.details], ["device", "INVALID_TOKEN", 401, { RC: 401, RM: "Unauthorized" }]);
  });

  test("channel: error.code is the code, with details and the request id", async () => {
    const notFound = await rejection(setup("channel", { options: { channelId: "6f0f3a52-0000-4000-8000-000000000000" } }).pushgate.subscribe());
    assert.deepEqual([notFound.surface, notFound.code, notFound.status, notFound.details, notFound.requestId],
      ["channel", "not_found", 404, { resource: "channel" }, "req_unit_test"]);
    const session = await rejection(setup("channel", { options: { session: BOB_SESSION, vapidKey: VAPID_KEY } }).pushgate.subscribe());
    assert.deepEqual([session.code, session.status, session.details], ["unauthenticated", 401, { auth: "api_key" }]);
  });

  test("a fetch that fails is network; an answer without the surface's envelope is http_error", async () => {
    const failing = setup("device", { options: { fetch: async () => { throw new TypeError("Failed to fetch"); } } });
    const network = await rejection(failing.pushgate.subscribe());
    assert.deepEqual([network.surface, network.code, network.status], ["device", "network", null]);
    const throttled = setup("channel", {
      options: { fetch: async () => new Response(JSON.stringify({ message: "Too Many Requests" }), { status: 429 }) },
    });
    const error = await rejection(throttled.pushgate.subscribe());
    assert.deepEqual([error.code, error.status, error.message], ["http_error", 429, "channel: Too Many Requests"]);
  });

  test("the browser's refusals: NotAllowedError is permission_denied, AbortError network, others unsupported", async () => {
    for (const [name, code] of [["NotAllowedError", "permission_denied"], ["AbortError", "network"], ["InvalidAccessError", "unsupported"]]) {
      const context = setup("device", { options: { vapidKey: VAPID_KEY } });
      context.browser.pushManager.refuseWith = name;
      const error = await rejection(context.pushgate.subscribe());
      assert.deepEqual([error.code, error.details], [code, { name }]);
      assert.deepEqual(context.backend.log, ["browser subscribe"]);
      for (const cleanup of cleanups.splice(0).reverse()) cleanup();
    }
  });

  test("no service worker support is unsupported", async () => {
    const context = setup("device", { options: { vapidKey: VAPID_KEY, serviceWorker: undefined } });
    Object.defineProperty(globalThis, "navigator", { value: {}, configurable: true, writable: true });
    const error = await rejection(context.pushgate.subscribe());
    assert.equal(error.code, "unsupported");
  });
});

describe("options", () => {
  test("the registration defaults to navigator.serviceWorker.ready", async () => {
    const context = setup("account", { options: { serviceWorker: undefined } });
    await context.pushgate.subscribe();
    assert.notEqual(context.browser.pushManager.current, null);
  });

  test("a registration whose worker is still installing is used once its worker is active", async () => {
    const context = setup("device", { options: { vapidKey: VAPID_KEY } });
    const worker = Object.assign(new EventTarget(), { state: "installing" });
    const registration = context.browser.registration;
    registration.installing = worker;
    const subscribing = context.pushgate.subscribe();
    await until(() => context.browser.permissionRequests.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(context.browser.pushManager.subscribeCalls.length, 0);
    Object.assign(registration, { installing: null, active: worker });
    worker.state = "activated";
    worker.dispatchEvent(new Event("statechange"));
    await subscribing;
    assert.equal(context.browser.pushManager.subscribeCalls.length, 1);
  });

  test("a worker that fails to install is unsupported", async () => {
    const context = setup("device", { options: { vapidKey: VAPID_KEY } });
    const worker = Object.assign(new EventTarget(), { state: "installing" });
    context.browser.registration.installing = worker;
    const subscribing = rejection(context.pushgate.subscribe());
    await until(() => context.browser.permissionRequests.length === 1);
    worker.state = "redundant";
    worker.dispatchEvent(new Event("statechange"));
    assert.equal((await subscribing).code, "unsupported");
  });

  test("deviceId defaults to a random id kept in localStorage", () => {
    const stored = new Map();
    const localStorage = { getItem: (key) => stored.get(key) ?? null, setItem: (key, value) => stored.set(key, value) };
    Object.defineProperty(globalThis, "localStorage", { value: localStorage, configurable: true, writable: true });
    cleanups.push(() => delete globalThis.localStorage);
    const first = setup("device", { options: { deviceId: undefined } }).pushgate.deviceId;
    const second = setup("device", { options: { deviceId: undefined } }).pushgate.deviceId;
    assert.match(first, /^web-[0-9a-f-]{36}$/);
    assert.equal(second, first);
    assert.deepEqual([...stored.values()], [first]);
    assert.equal(setup("device", { options: { deviceId: "mine" } }).pushgate.deviceId, "mine");
  });

  test("missing options are a TypeError naming the option, never its value", () => {
    const base = { apiUrl: API_URL, wsUrl: WS_URL, publicKey: PUBLIC_KEY, session: SESSION };
    assert.throws(() => new Pushgate({ ...base, surface: "email" }), TypeError);
    assert.throws(() => new Pushgate({ ...base, surface: "account" }), /accountId/);
    assert.throws(() => new Pushgate({ ...base, surface: "channel" }), /channelId/);
    assert.throws(() => new Pushgate({ ...base, surface: "device", session: undefined }), /session/);
    assert.throws(() => new Pushgate({ ...base, surface: "websocket", wsUrl: undefined }), /wsUrl/);
    assert.throws(() => new Pushgate({ ...base, surface: "device", apiUrl: undefined }), /apiUrl/);
    assert.doesNotThrow(() => new Pushgate({ surface: "account", apiUrl: API_URL, session: SESSION, accountId: 1, vapidKey: VAPID_KEY }));
  });

  test("close() closes the WebSocket it opened", async () => {
    const { pushgate, WebSocket } = setup("websocket");
    await pushgate.getVapidKey();
    pushgate.close();
    await until(() => WebSocket.instances[0].closedWith !== null);
    assert.equal(WebSocket.instances[0].closedWith, 1000);
    assert.equal(WebSocket.instances.length, 1);
  });
});
