#!/usr/bin/env node
// A loopback Web Push service for the end-to-end delivery tests (tests/e2e/test_e2e_delivery.py):
// web-push-testing's server, an implementation independent of pushgate that checks the VAPID JWT
// (ES256, against the subscription's applicationServerKey) and decrypts aes128gcm payloads.
//
//   node serve.js PORT
//
// Runs in the foreground (not the package CLI's detached daemon, which leaves a process and a
// .node-persist directory behind), on the loopback interface only, until stdin closes or it gets
// SIGTERM/SIGINT. Subscription endpoints are http://localhost:PORT/notify/<clientHash>, so it
// listens on both loopback addresses "localhost" may resolve to (127.0.0.1, and ::1 when the host
// has IPv6). It prints one line, {"ready":true,"port":PORT}, once it accepts requests.
//
// Added to what web-push-testing checks (the JWT's ES256 signature and exp, k= equal to the
// subscription's applicationServerKey, TTL present, aes128gcm decryption), as real push services
// do: the JWT's claims of RFC 8292 §2 - aud is the endpoint's origin, exp at most 24 h ahead, sub a
// mailto: or https: contact - else 403, as FCM answers. And for the tests' assertions, each
// request's push headers and JWT claims are kept: POST /get-requests {clientHash} ->
// {data: {requests: [{ttl, urgency, topic, contentEncoding, contentType, vapid: {aud, exp, sub}}]}}.
'use strict';

const WebPushTestingServer = require('web-push-testing/src/server.js');
const {PushApiModel} = require('web-push-testing/src/PushApiModel.js');

// Idle connections are kept longer than the sender keeps them (pushgate.delivery.keepalive:
// MAX_IDLE_SECONDS = 30), as real push services do. With Node's default (5 s) the sender would
// reconnect between most pushes of a test, and a request that raced the server's close would fail
// once and be retried after a backoff of 10 s or more: test durations would depend on timing.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const LOOPBACK = [
	{host: '127.0.0.1', required: true},
	{host: '::1', required: false}, // absent on hosts without IPv6; an address in use is still fatal
];

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
	console.error('usage: node serve.js PORT');
	process.exit(2);
}

const ENDPOINT_ORIGIN = `http://localhost:${port}`; // what web-push-testing puts in every endpoint
const MAX_VAPID_LIFETIME_SECONDS = 24 * 3600;

// What startServer() does, minus its listen() on every interface; the checks below run first.
const pushService = new WebPushTestingServer(new PushApiModel(), port);
const requestsByClient = new Map();

function vapidClaims(authorization) {
	// "vapid t=<JWT>, k=<key>" (parameters in any order); undefined when it is not that, which
	// web-push-testing then refuses on its own.
	const match = /^vapid\s+(.*)$/i.exec(authorization || '');
	if (!match) {
		return undefined;
	}
	const parameters = Object.fromEntries(match[1].split(',').map(part => {
		const at = part.indexOf('=');
		return [part.slice(0, at).trim(), part.slice(at + 1).trim()];
	}));
	const payload = (parameters.t || '').split('.')[1];
	try {
		return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
	} catch {
		return undefined;
	}
}

function claimsProblem(claims) {
	const now = Math.floor(Date.now() / 1000);
	if (claims.aud !== ENDPOINT_ORIGIN) {
		return `VAPID aud ${JSON.stringify(claims.aud)} is not the endpoint's origin ${ENDPOINT_ORIGIN}`;
	}
	if (!Number.isInteger(claims.exp) || claims.exp <= now || claims.exp > now + MAX_VAPID_LIFETIME_SECONDS) {
		return `VAPID exp ${JSON.stringify(claims.exp)} is not within the next 24 hours`;
	}
	if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) {
		return `VAPID sub ${JSON.stringify(claims.sub)} is not a mailto: or https: contact`;
	}
	return undefined;
}

pushService._app.post('/notify/:clientHash', (req, res, next) => {
	const claims = vapidClaims(req.get('Authorization'));
	const record = {
		ttl: req.get('TTL') ?? null,
		urgency: req.get('Urgency') ?? null,
		topic: req.get('Topic') ?? null,
		// web-push-testing's own middleware has moved Content-Encoding here by now.
		contentEncoding: req.get('X-Content-Encoding') ?? req.get('Content-Encoding') ?? null,
		contentType: req.get('Content-Type') ?? null,
		vapid: claims ? {aud: claims.aud, exp: claims.exp, sub: claims.sub} : null,
	};
	const {clientHash} = req.params;
	res.on('finish', () => {
		if (res.statusCode >= 300) { // why is in web-push-testing's answer or logged above
			console.error(`push service: POST /notify/${clientHash.slice(0, 8)}... -> ${res.statusCode}`);
		}
	});
	requestsByClient.set(clientHash, [...(requestsByClient.get(clientHash) || []), record]);
	const problem = claims && claimsProblem(claims);
	if (problem) {
		console.error(`push service: 403 for ${clientHash.slice(0, 8)}: ${problem}`);
		res.status(403).send({error: {message: problem}});
		return;
	}
	next();
});

pushService._app.post('/get-requests', (req, res) => {
	res.status(200).send({data: {requests: requestsByClient.get(req.body.clientHash) || []}});
});

pushService.setRequestHandlers();

const servers = [];

function listen({host, required}) {
	return new Promise((resolve, reject) => {
		const server = pushService._app.listen(port, host);
		server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
		server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
		server.once('listening', () => {
			servers.push(server);
			resolve();
		});
		server.once('error', err => {
			if (!required && (err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT')) {
				resolve();
			} else {
				reject(err);
			}
		});
	});
}

let stopping = false;

function stop(code) {
	if (stopping) {
		return;
	}
	stopping = true;
	for (const server of servers) {
		server.close();
		server.closeAllConnections();
	}
	process.exit(code);
}

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();

Promise.all(LOOPBACK.map(listen)).then(
	() => console.log(JSON.stringify({ready: true, port})),
	err => {
		console.error(`push service: cannot listen on port ${port}: ${err.code || err.message}`);
		stop(1);
	},
);
