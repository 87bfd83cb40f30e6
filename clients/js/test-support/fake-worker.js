// A ServiceWorkerGlobalScope for the unit tests of sw.js: listeners, registration (notifications,
// pushManager), window clients, and an in-memory IndexedDB that, like the real one, runs
// readwrite transactions on a store one after the other and keeps data across worker restarts.

import { FakeSubscription } from "./fake-browser.js";

const nextTurn = () => new Promise((resolve) => setTimeout(resolve));

class FakeTransaction {
  constructor(records) {
    this.records = records;
    this.queue = [];
    this.oncomplete = null;
    this.onerror = null;
    this.onabort = null;
  }

  objectStore() {
    const request = (operation) => {
      const pending = { result: undefined, onsuccess: null, onerror: null };
      this.queue.push({ pending, operation });
      return pending;
    };
    return {
      get: (key) => request(() => structuredClone(this.records.get(key))),
      put: (value, key) => request(() => {
        this.records.set(key, structuredClone(value));
        return key;
      }),
    };
  }

  // Requests run in order; a request made in a success callback joins this same transaction.
  async run() {
    await nextTurn(); // the caller attaches its callbacks first, as with a real request
    while (this.queue.length > 0) {
      const { pending, operation } = this.queue.shift();
      pending.result = operation();
      if (pending.onsuccess) pending.onsuccess();
      await nextTurn();
    }
    if (this.oncomplete) this.oncomplete();
  }
}

class FakeDatabase {
  constructor() {
    this.stores = new Map();
    this.tail = Promise.resolve();
    this.transactions = 0;
  }

  createObjectStore(name) {
    this.stores.set(name, new Map());
  }

  transaction(name) {
    if (!this.stores.has(name)) throw new DOMException(`no store ${name}`, "NotFoundError");
    this.transactions += 1;
    const transaction = new FakeTransaction(this.stores.get(name));
    this.tail = this.tail.then(() => transaction.run());
    return transaction;
  }
}

export class FakeIndexedDB {
  constructor() {
    this.databases = new Map();
  }

  open(name) {
    const request = { result: null, onupgradeneeded: null, onsuccess: null, onerror: null };
    setTimeout(() => {
      let database = this.databases.get(name);
      if (!database) {
        database = new FakeDatabase();
        this.databases.set(name, database);
        request.result = database;
        if (request.onupgradeneeded) request.onupgradeneeded();
      }
      request.result = database;
      if (request.onsuccess) request.onsuccess();
    });
    return request;
  }
}

export class FakeWindowClient {
  constructor(url, { controlled = true } = {}) {
    this.url = url;
    this.controlled = controlled;
    this.messages = [];
    this.focused = 0;
  }

  postMessage(message) {
    this.messages.push(structuredClone(message));
  }

  async focus() {
    this.focused += 1;
    return this;
  }
}

export const ORIGIN = "https://app.example";
export const SCOPE = `${ORIGIN}/demo/`;

export function fakeWorkerScope({ indexedDB = new FakeIndexedDB(), windows = [] } = {}) {
  const listeners = new Map();
  const log = [];
  const pushManager = {
    subscribeCalls: [],
    async subscribe(options) {
      this.subscribeCalls.push(options);
      const key = options.applicationServerKey;
      return new FakeSubscription({ log, current: null }, new Uint8Array(key.buffer || key));
    },
  };
  const registration = {
    scope: SCOPE,
    pushManager,
    shown: [],
    async showNotification(title, options) {
      this.shown.push({ title, options: structuredClone(options) });
    },
  };
  const clients = {
    windows,
    opened: [],
    matchAllCalls: [],
    claimed: 0,
    async matchAll(options) {
      this.matchAllCalls.push(options);
      return options && options.includeUncontrolled ? [...this.windows] : this.windows.filter((client) => client.controlled);
    },
    async openWindow(url) {
      this.opened.push(url);
      return null;
    },
    async claim() {
      this.claimed += 1;
    },
  };
  return {
    location: { href: `${SCOPE}sw.js` },
    indexedDB,
    registration,
    clients,
    skipped: 0,
    skipWaiting() {
      this.skipped += 1;
      return Promise.resolve();
    },
    addEventListener(type, listener) {
      listeners.set(type, [...(listeners.get(type) || []), listener]);
    },
    // Fires `type` as the browser would and resolves once every waitUntil promise settled.
    async dispatch(type, fields = {}) {
      const pending = [];
      const event = { type, ...fields, waitUntil: (promise) => pending.push(promise) };
      for (const listener of listeners.get(type) || []) listener(event);
      await Promise.all(pending);
      return pending.length;
    },
    async push(payload) {
      const text = typeof payload === "string" ? payload : JSON.stringify(payload);
      return this.dispatch("push", { data: { json: () => JSON.parse(text), text: () => text } });
    },
  };
}

let instances = 0;

// Evaluates a fresh copy of sw.js in `scope`, as a browser starting the worker does.
export async function startWorker(scope) {
  globalThis.self = scope;
  try {
    instances += 1;
    await import(new URL(`../sw.js?instance=${instances}`, import.meta.url));
  } finally {
    delete globalThis.self;
  }
  return scope;
}
