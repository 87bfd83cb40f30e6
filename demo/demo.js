// The demo page of the local stack (served at /demo/ by src/pushgate_local/demo_routes.py).
// Everything a real page does goes through the JS client (clients/js/pushgate.js, served here as
// /demo/pushgate.js) and its service worker (/demo/sw.js). What a real app's backend would do
// (minting the user's session or JWT, sending a push with the secret key) is asked of the
// local-only routes under /_pushgate/local/demo/, which keep the demo app's secret key server-side.
import { Pushgate, PushgateError } from "/demo/pushgate.js";

const DEMO_API = "/_pushgate/local/demo";
const $ = (selector) => document.querySelector(selector);

// The worker is registered by the page (the client uses whatever registration it is given); under
// /demo/ so that its default scope covers this page.
const registration = "serviceWorker" in navigator
  ? navigator.serviceWorker.register("/demo/sw.js", { type: "module", scope: "/demo/" })
  : Promise.reject(new Error("service workers are not supported by this browser"));
registration.catch((error) => log(`service worker: ${error.message}`, true));

let signedIn = null; // {user_id, surface, ...the session route's answer}
let pushgate = null;

function log(text, isError = false) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  if (isError) item.className = "error";
  $("#log").prepend(item);
}

function describe(error) {
  if (error instanceof PushgateError) {
    return `${error.surface || "pushgate"} error ${error.code}${error.status ? ` (HTTP ${error.status})` : ""}: ${error.message}`;
  }
  return error && error.message ? error.message : String(error);
}

async function demoApi(method, path, body) {
  const response = await fetch(`${DEMO_API}/${path}`, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}: ${answer.message}`);
  return answer;
}

function clientOptions(surface, session) {
  const options = {
    surface,
    apiUrl: session.http_url,
    wsUrl: session.ws_url,
    publicKey: session.public_key,
    session: surface === "channel" ? session.user_jwt : session.session_id,
    serviceWorker: registration,
  };
  if (surface === "account") options.accountId = session.account_id;
  if (surface === "channel") options.channelId = session.channel_id;
  return options;
}

function setBusy(busy) {
  for (const id of ["#subscribe", "#unsubscribe", "#refresh", "#send"]) $(id).disabled = busy || !signedIn;
  $("#sign-in-button").disabled = busy;
}

// Each action disables the buttons while it runs and reports its outcome in the log.
function action(name, run) {
  return async (event) => {
    if (event) event.preventDefault();
    setBusy(true);
    try {
      await run();
    } catch (error) {
      log(`${name} failed: ${describe(error)}`, true);
    } finally {
      setBusy(false);
    }
  };
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  row.append(td);
}

async function refreshSubscriptions() {
  const { subscriptions } = await demoApi("GET", `subscriptions?user_id=${encodeURIComponent(signedIn.user_id)}`);
  const body = $("#subscriptions tbody");
  body.replaceChildren();
  for (const subscription of subscriptions) {
    const row = document.createElement("tr");
    row.dataset.type = subscription.type;
    for (const field of ["subscription_id", "type", "status", "channel_id", "device_id", "endpoint"]) {
      cell(row, subscription[field]);
    }
    cell(row, new Date(subscription.updated_at * 1000).toLocaleTimeString());
    body.append(row);
  }
  $("#no-subscriptions").hidden = subscriptions.length > 0;
  $("#subscriptions").dataset.count = String(subscriptions.length);
}

function showDataPush(message) {
  if (message.type !== "pushgate.data") return;
  const item = document.createElement("li");
  item.dataset.id = message.id;
  item.textContent = `${message.id}: ${JSON.stringify(message.data)}`;
  $("#messages").prepend(item);
}

const signIn = action("sign in", async () => {
  const userId = $("#user-id").value.trim();
  const surface = $("#surface").value;
  const session = await demoApi("POST", "session", { user_id: userId });
  if (pushgate) pushgate.close();
  signedIn = { ...session, surface };
  pushgate = new Pushgate(clientOptions(surface, session));
  pushgate.listen(showDataPush);
  $("#signed-in-user").textContent = session.user_id;
  $("#signed-in-surface").textContent = surface;
  $("#vapid-key").textContent = await pushgate.getVapidKey();
  $("#identity").hidden = false;
  document.body.dataset.signedIn = surface;
  log(`signed in as ${session.user_id} (${surface})`);
  await refreshSubscriptions();
});

const subscribe = action("subscribe", async () => {
  const subscription = await pushgate.subscribe();
  log(`subscribed through ${signedIn.surface} (push service ${new URL(subscription.endpoint).host})`);
  await refreshSubscriptions();
});

const unsubscribe = action("unsubscribe", async () => {
  const had = await pushgate.unsubscribe();
  log(had ? `unsubscribed through ${signedIn.surface}` : "this browser had no subscription");
  await refreshSubscriptions();
});

const send = action("send", async () => {
  const rawData = $("#push-data").value.trim();
  let data;
  try {
    data = rawData ? JSON.parse(rawData) : undefined;
  } catch {
    throw new Error("the data is not JSON");
  }
  const { id } = await demoApi("POST", "push", {
    user_id: signedIn.user_id,
    title: $("#push-title").value,
    body: $("#push-body").value,
    url: $("#push-url").value,
    data,
  });
  $("#push").dataset.lastId = id;
  log(`push ${id} sent to /users/${signedIn.user_id}`);
});

$("#sign-in").addEventListener("submit", signIn);
$("#subscribe").addEventListener("click", subscribe);
$("#unsubscribe").addEventListener("click", unsubscribe);
$("#refresh").addEventListener("click", action("refresh", refreshSubscriptions));
$("#push").addEventListener("submit", send);
document.body.dataset.ready = "true";
