// sw.js in a fake ServiceWorkerGlobalScope (test-support/fake-worker.js): what it shows, what it
// posts to the pages, that a push id is handled once (across worker restarts too), the click, and
// the re-subscription when the browser replaces the subscription.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { OTHER_VAPID_KEY, base64Url, bytesOf } from "../test-support/fake-surfaces.js";
import { FakeIndexedDB, FakeWindowClient, ORIGIN, SCOPE, fakeWorkerScope, startWorker } from "../test-support/fake-worker.js";

const NOTIFICATION = { title: "Réunion à 15 h", body: "Ordre du jour", url: "/docs" };

describe("push", () => {
  test("a notification push is shown with its id as tag and {id, url} as data", async () => {
    const scope = await startWorker(fakeWorkerScope());
    assert.equal(await scope.push({ id: "p1", notification: { ...NOTIFICATION, icon: "/icon.png" }, data: { n: 1 } }), 1);
    assert.deepEqual(scope.registration.shown, [{
      title: NOTIFICATION.title,
      options: { body: NOTIFICATION.body, icon: "/icon.png", tag: "p1", data: { id: "p1", url: "/docs" } },
    }]);
  });

  test("a notification push is not posted to the pages, even with data", async () => {
    const page = new FakeWindowClient(SCOPE);
    const scope = await startWorker(fakeWorkerScope({ windows: [page] }));
    await scope.push({ id: "p1", notification: NOTIFICATION, data: { n: 1 } });
    assert.deepEqual(page.messages, []);
    assert.equal(scope.registration.shown[0].options.icon, undefined);
  });

  test("a data-only push is posted to every window, controlled or not, and not shown", async () => {
    const pages = [new FakeWindowClient(SCOPE), new FakeWindowClient(`${ORIGIN}/demo/other`, { controlled: false })];
    const scope = await startWorker(fakeWorkerScope({ windows: pages }));
    await scope.push({ id: "d1", data: { score: [3, 1] } });
    for (const page of pages) assert.deepEqual(page.messages, [{ type: "pushgate.data", id: "d1", data: { score: [3, 1] } }]);
    assert.deepEqual(scope.clients.matchAllCalls, [{ type: "window", includeUncontrolled: true }]);
    assert.deepEqual(scope.registration.shown, []);
  });

  test("the same id twice is handled once; another id still is", async () => {
    const page = new FakeWindowClient(SCOPE);
    const scope = await startWorker(fakeWorkerScope({ windows: [page] }));
    await scope.push({ id: "p1", notification: NOTIFICATION });
    await scope.push({ id: "p1", notification: NOTIFICATION });
    await scope.push({ id: "p2", notification: { ...NOTIFICATION, title: "next" } });
    await scope.push({ id: "d1", data: 1 });
    await scope.push({ id: "d1", data: 1 });
    assert.deepEqual(scope.registration.shown.map((shown) => shown.options.tag), ["p1", "p2"]);
    assert.deepEqual(page.messages.map((message) => message.id), ["d1"]);
  });

  test("two copies arriving together are handled once", async () => {
    const scope = await startWorker(fakeWorkerScope());
    await Promise.all([scope.push({ id: "p1", notification: NOTIFICATION }), scope.push({ id: "p1", notification: NOTIFICATION })]);
    assert.equal(scope.registration.shown.length, 1);
  });

  test("the ids survive a restart of the worker (they are in IndexedDB)", async () => {
    const indexedDB = new FakeIndexedDB();
    const first = await startWorker(fakeWorkerScope({ indexedDB }));
    await first.push({ id: "p1", notification: NOTIFICATION });
    const restarted = await startWorker(fakeWorkerScope({ indexedDB }));
    await restarted.push({ id: "p1", notification: NOTIFICATION });
    assert.equal(restarted.registration.shown.length, 0);
    assert.ok(indexedDB.databases.get("pushgate").transactions >= 2);
  });

  test("the remembered ids are bounded: the oldest is forgotten after 500 others", async () => {
    const scope = await startWorker(fakeWorkerScope({ windows: [] }));
    await scope.push({ id: "first", data: null });
    for (let i = 0; i < 499; i += 1) await scope.push({ id: `d${i}`, data: null });
    const [store] = scope.indexedDB.databases.get("pushgate").stores.values();
    assert.equal([...store.values()][0].length, 500);
    await scope.push({ id: "first", notification: NOTIFICATION });
    assert.equal(scope.registration.shown.length, 0); // 500 remembered, "first" among them
    await scope.push({ id: "d500", data: null });
    await scope.push({ id: "first", notification: NOTIFICATION });
    assert.equal(scope.registration.shown.length, 1);
    assert.equal([...store.values()][0].length, 500);
  });

  test("without IndexedDB the ids are remembered in memory", async () => {
    const scope = await startWorker(fakeWorkerScope({ indexedDB: null }));
    await scope.push({ id: "p1", notification: NOTIFICATION });
    await scope.push({ id: "p1", notification: NOTIFICATION });
    assert.equal(scope.registration.shown.length, 1);
  });

  test("a payload that is not a pushgate push (not JSON, not an object, none) is ignored", async () => {
    const page = new FakeWindowClient(SCOPE);
    const scope = await startWorker(fakeWorkerScope({ windows: [page] }));
    await scope.push("not json");
    await scope.push([1, 2]);
    await scope.dispatch("push", { data: null });
    assert.deepEqual([scope.registration.shown, page.messages], [[], []]);
  });
});

describe("notificationclick", () => {
  function clicked(url) {
    const notification = { data: { id: "p1", url }, closed: 0, close() { this.closed += 1; } };
    return notification;
  }

  test("closes the notification and opens its url, resolved against the worker's origin", async () => {
    const scope = await startWorker(fakeWorkerScope({ windows: [new FakeWindowClient(SCOPE)] }));
    const notification = clicked("/docs");
    await scope.dispatch("notificationclick", { notification });
    assert.equal(notification.closed, 1);
    assert.deepEqual(scope.clients.opened, [`${ORIGIN}/docs`]);
  });

  test("focuses a window already at that url instead of opening one", async () => {
    const page = new FakeWindowClient(`${ORIGIN}/docs`);
    const scope = await startWorker(fakeWorkerScope({ windows: [new FakeWindowClient(SCOPE), page] }));
    await scope.dispatch("notificationclick", { notification: clicked("/docs") });
    assert.deepEqual([page.focused, scope.clients.opened], [1, []]);
  });

  test("an absolute url is opened as is; a javascript: url or none opens the scope", async () => {
    const scope = await startWorker(fakeWorkerScope());
    await scope.dispatch("notificationclick", { notification: clicked("https://news.example/a?b=1") });
    await scope.dispatch("notificationclick", { notification: clicked("javascript:alert(1)") });
    await scope.dispatch("notificationclick", { notification: { data: null, close() {} } });
    assert.deepEqual(scope.clients.opened, ["https://news.example/a?b=1", SCOPE, SCOPE]);
  });
});

describe("pushsubscriptionchange", () => {
  test("re-subscribes with the old subscription's key and posts the new one to the pages", async () => {
    const page = new FakeWindowClient(SCOPE);
    const scope = await startWorker(fakeWorkerScope({ windows: [page] }));
    const oldKey = bytesOf(OTHER_VAPID_KEY).buffer;
    await scope.dispatch("pushsubscriptionchange", { oldSubscription: { options: { applicationServerKey: oldKey } }, newSubscription: null });
    const [options] = scope.registration.pushManager.subscribeCalls;
    assert.equal(options.userVisibleOnly, true);
    assert.equal(base64Url(new Uint8Array(options.applicationServerKey)), OTHER_VAPID_KEY);
    assert.equal(page.messages.length, 1);
    const [message] = page.messages;
    assert.equal(message.type, "pushgate.subscriptionchange");
    assert.match(message.subscription.endpoint, /^https:\/\//);
    assert.deepEqual(Object.keys(message.subscription.keys).sort(), ["auth", "p256dh"]);
  });

  test("a new subscription the browser already made is posted as is", async () => {
    const page = new FakeWindowClient(SCOPE);
    const scope = await startWorker(fakeWorkerScope({ windows: [page] }));
    const renewed = { toJSON: () => ({ endpoint: "https://fcm.googleapis.com/fcm/send/new", keys: { p256dh: "k", auth: "a" } }) };
    await scope.dispatch("pushsubscriptionchange", { oldSubscription: null, newSubscription: renewed });
    assert.equal(scope.registration.pushManager.subscribeCalls.length, 0);
    assert.deepEqual(page.messages, [{ type: "pushgate.subscriptionchange", subscription: renewed.toJSON() }]);
  });
});

describe("lifecycle", () => {
  test("a new worker takes over at once: skipWaiting on install, clients.claim on activate", async () => {
    const scope = await startWorker(fakeWorkerScope());
    await scope.dispatch("install");
    await scope.dispatch("activate");
    assert.deepEqual([scope.skipped, scope.clients.claimed], [1, 1]);
  });
});
