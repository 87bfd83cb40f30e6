// A browser's push machinery for the unit tests of pushgate.js: Notification.requestPermission, a
// ServiceWorkerRegistration whose PushManager behaves as Chromium's (one subscription per
// registration, a second key refused with InvalidStateError, options.applicationServerKey an
// ArrayBuffer), and navigator.serviceWorker (ready, message events).

import { PUSH_HOST, base64Url, bytesOf, randomPointKey } from "./fake-surfaces.js";

export class FakeSubscription {
  constructor(pushManager, applicationServerKey) {
    this.pushManager = pushManager;
    this.endpoint = `https://${PUSH_HOST}/fcm/send/${crypto.randomUUID()}`;
    this.expirationTime = null;
    this.keys = { p256dh: randomPointKey(), auth: base64Url(crypto.getRandomValues(new Uint8Array(16))) };
    this.options = { userVisibleOnly: true, applicationServerKey: Uint8Array.from(applicationServerKey).buffer };
  }

  toJSON() {
    return { endpoint: this.endpoint, expirationTime: null, keys: { ...this.keys } };
  }

  async unsubscribe() {
    this.pushManager.log.push("browser unsubscribe");
    const had = this.pushManager.current === this;
    if (had) this.pushManager.current = null;
    return had;
  }
}

export class FakePushManager {
  constructor(log) {
    this.log = log;
    this.current = null;
    this.subscribeCalls = [];
    this.refuseWith = null; // a DOMException name the next subscribe() throws
  }

  async getSubscription() {
    return this.current;
  }

  async subscribe(options) {
    this.subscribeCalls.push(options);
    this.log.push("browser subscribe");
    if (this.refuseWith) throw new DOMException("refused by the fake browser", this.refuseWith);
    if (!options.userVisibleOnly) throw new DOMException("userVisibleOnly is required", "NotAllowedError");
    const key = options.applicationServerKey;
    const bytes = typeof key === "string" ? bytesOf(key) : new Uint8Array(key.buffer || key, key.byteOffset || 0, key.byteLength);
    if (this.current) {
      if (base64Url(new Uint8Array(this.current.options.applicationServerKey)) !== base64Url(bytes)) {
        throw new DOMException("A subscription with a different applicationServerKey already exists", "InvalidStateError");
      }
      return this.current;
    }
    this.current = new FakeSubscription(this, bytes);
    return this.current;
  }

  // A subscription the browser already holds (made on an earlier visit), with this key
  hold(vapidKey) {
    this.current = new FakeSubscription(this, bytesOf(vapidKey));
    return this.current;
  }
}

export class FakeServiceWorkerContainer extends EventTarget {
  constructor(registration) {
    super();
    this.ready = Promise.resolve(registration);
    this.started = false;
  }

  startMessages() {
    this.started = true;
  }

  // What the page receives when sw.js calls client.postMessage(message)
  deliver(message) {
    this.dispatchEvent(new MessageEvent("message", { data: message }));
  }
}

// A page: sets globalThis.Notification and globalThis.navigator; `uninstall()` puts them back.
export function installBrowser(log, { permission = "granted" } = {}) {
  const pushManager = new FakePushManager(log);
  const registration = { pushManager };
  const container = new FakeServiceWorkerContainer(registration);
  const permissionRequests = [];
  const saved = Object.getOwnPropertyDescriptors(globalThis);
  const Notification = {
    permission: "default",
    requestPermission: async () => {
      permissionRequests.push(permission);
      Notification.permission = permission;
      return permission;
    },
  };
  Object.defineProperty(globalThis, "Notification", { value: Notification, configurable: true, writable: true });
  Object.defineProperty(globalThis, "navigator", { value: { serviceWorker: container }, configurable: true, writable: true });
  const uninstall = () => {
    for (const name of ["Notification", "navigator"]) {
      if (saved[name]) Object.defineProperty(globalThis, name, saved[name]);
      else delete globalThis[name];
    }
  };
  return { pushManager, registration, container, permissionRequests, uninstall };
}
