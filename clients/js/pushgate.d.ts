// Types of pushgate.js, the browser client of pushgate (docs/api.md §1, §2, §3, §5).

/** The page-side surface the subscription is registered through. */
export type PushgateSurface = "websocket" | "account" | "device" | "channel";

export interface PushgateOptions {
  surface: PushgateSurface;
  /** HTTP API base URL (a trailing slash is fine); required for every surface but "websocket". */
  apiUrl?: string;
  /** WebSocket API URL; getVapidKey() always uses it (unless `vapidKey` is given), and so does surface "websocket". */
  wsUrl?: string;
  /** The app's public key (`pk_…`). */
  publicKey?: string;
  /** Session id or user JWT: WebSocket `token`, account `session_id`, device `IM-Authorization`; a user JWT for "channel". */
  session: string;
  /** Surface "account": the /{account_id}/ path segment. */
  accountId?: number | string;
  /** Surface "channel": the app's webpush channel id. */
  channelId?: string;
  /** Surface "device": the device id; by default a random id kept in localStorage. */
  deviceId?: string;
  /** The service worker registration (or a promise of it) running sw.js; by default navigator.serviceWorker.ready. */
  serviceWorker?: ServiceWorkerRegistration | Promise<ServiceWorkerRegistration>;
  /** The app's VAPID public key (base64url), which skips the WebSocket round trip. */
  vapidKey?: string;
  /** How long a WebSocket command waits for its reply before failing with code "network" (default 30000 ms). */
  replyTimeoutMs?: number;
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
}

/** What sw.js posts for a data-only push. */
export interface PushgateDataMessage {
  type: "pushgate.data";
  id: string;
  data: unknown;
}

/** What sw.js posts when the browser replaced the subscription; onMessage gets it once it was re-registered. */
export interface PushgateSubscriptionChangeMessage {
  type: "pushgate.subscriptionchange";
  subscription: PushSubscriptionJSON;
  /** Set when registering the new subscription through the surface failed. */
  error?: PushgateError;
}

export type PushgateMessage = PushgateDataMessage | PushgateSubscriptionChangeMessage;

export interface PushgateErrorInit {
  surface?: PushgateSurface | null;
  code: string | number;
  status?: number | null;
  details?: Record<string, unknown> | null;
  requestId?: string | null;
  cause?: unknown;
}

export class PushgateError extends Error {
  constructor(message: string, init: PushgateErrorInit);
  name: "PushgateError";
  /** The surface that failed (getVapidKey: "websocket"); null when the browser itself refused. */
  surface: PushgateSurface | null;
  /**
   * The surface's own code: WebSocket `val` (e.g. "Not authenticated"), account `error_no` (a number,
   * e.g. 8510; field errors come with HTTP 200), device `error.code`, channel `error.code`; or
   * "network", "permission_denied", "unsupported", or "http_error" for an answer without the
   * surface's envelope (e.g. API Gateway's 429).
   */
  code: string | number;
  /** The HTTP status, or null (WebSocket, network, browser). */
  status: number | null;
  /** WebSocket `{src}`, device `{RC, RM}`, channel `error.details`, browser `{name}` or `{permission}`, or null. */
  details: Record<string, unknown> | null;
  /** Channel surface: the error's `request_id`; otherwise null. */
  requestId: string | null;
}

export class Pushgate {
  constructor(options: PushgateOptions);
  readonly surface: PushgateSurface;
  /** Surface "device": the device id used; otherwise null. */
  readonly deviceId: string | null;
  /** The app's VAPID public key (base64url), asked once with {"cmd":"push_get_vapid"}. */
  getVapidKey(): Promise<string>;
  /** Asks permission, subscribes the browser (reusing a subscription made with the same key) and registers it through the surface. */
  subscribe(): Promise<PushSubscription>;
  /** Unregisters through the surface, then unsubscribes the browser; false when the browser had no subscription. */
  unsubscribe(): Promise<boolean>;
  /** Whether the browser holds a subscription made with this app's key. */
  isSubscribed(): Promise<boolean>;
  /** Receives sw.js's messages; re-registers a changed subscription. Returns a function that stops listening. */
  listen(onMessage: (message: PushgateMessage) => void): () => void;
  /** Stops every listen() and closes the WebSocket this client opened. */
  close(): void;
}
