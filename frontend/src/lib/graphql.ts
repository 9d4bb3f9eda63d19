// The one GraphQL client of the app: queries and mutations are POSTed to `/graphql` with `fetch`,
// subscriptions go over one shared WebSocket (graphql-transport-ws protocol) to the same path.
// Both use the page's own origin, so the app works wherever the Rust server serves it.
import { createClient, type Client } from 'graphql-ws';

/**
 * A failed request. The message is the server's, for developers; `errors.ts` turns the `code`
 * into words for people. `code` is the server's `extensions.code` (NOT_FOUND, BAD_USER_INPUT,
 * CONFLICT, UNAVAILABLE, UNAUTHENTICATED, FORBIDDEN, TOO_MANY_REQUESTS, INTERNAL_SERVER_ERROR), or
 * NETWORK_ERROR when the server could not be reached or did not answer in GraphQL.
 */
export class ApiError extends Error {
	constructor(
		message: string,
		readonly code: string
	) {
		super(message);
		this.name = 'ApiError';
	}
}

type Variables = object;

// --- the session ending ----------------------------------------------------------------------
// An operation answered UNAUTHENTICATED: the session it was sent with has ended (expired, or
// signed out in another tab). session.svelte.ts listens, and the pages go back to the name or
// login form instead of showing the error.

const unauthenticatedListeners = new Set<() => void>();

/** Calls `listener` whenever an operation is refused for want of a session; returns an unsubscribe. */
export function onUnauthenticated(listener: () => void): () => void {
	unauthenticatedListeners.add(listener);
	return () => unauthenticatedListeners.delete(listener);
}

function refused(error: ApiError): ApiError {
	if (error.code === 'UNAUTHENTICATED') for (const listener of unauthenticatedListeners) listener();
	return error;
}

interface GraphQLResponse<T> {
	data?: T | null;
	errors?: readonly { message: string; extensions?: { code?: string } }[];
}

function firstError(errors: NonNullable<GraphQLResponse<unknown>['errors']>): ApiError {
	const [error] = errors;
	return new ApiError(error.message, error.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
}

/** Runs a query or mutation and returns its `data`, or throws an `ApiError`. */
export async function request<T>(query: string, variables: Variables = {}): Promise<T> {
	let response: Response;
	try {
		response = await fetch('/graphql', {
			method: 'POST',
			headers: { 'content-type': 'application/json', accept: 'application/json' },
			body: JSON.stringify({ query, variables })
		});
	} catch {
		outageSeen();
		throw new ApiError('fetch /graphql failed: the server is out of reach', 'NETWORK_ERROR');
	}
	// GraphQL errors may come with a 200 or a 4xx status; the body says what went wrong either way.
	const body = (await response.json().catch(() => null)) as GraphQLResponse<T> | null;
	if (body?.errors?.length) {
		const error = refused(firstError(body.errors));
		if (error.code === 'UNAVAILABLE') outageSeen();
		else {
			failures = 0;
			backOnline();
		}
		throw error;
	}
	if (!response.ok || !body?.data) {
		outageSeen();
		throw new ApiError(`POST /graphql answered HTTP ${response.status} without GraphQL`, 'NETWORK_ERROR');
	}
	failures = 0;
	backOnline();
	return body.data;
}

// --- outages and recovery --------------------------------------------------------------------
// A page whose request failed because the server was out of reach says "we'll keep trying", so it
// must: after a failed request the client probes the server until it is ready, and then (as after
// the WebSocket reconnects) tells every `onReconnect` listener, which loads its data afresh.

const reconnectListeners = new Set<() => void>();
let outage = false;
/** Outages and failed probes since the last answered request. */
let failures = 0;
let probeTimer: ReturnType<typeof setTimeout> | undefined;

/** Calls `listener` each time the server is back after an outage; returns an unsubscribe. */
export function onReconnect(listener: () => void): () => void {
	reconnectListeners.add(listener);
	return () => reconnectListeners.delete(listener);
}

/** A request outside this module (the session's REST calls) found the server out of reach. */
export const noteOutage = (): void => outageSeen();

/** A request outside this module was answered. */
export function noteAnswered(): void {
	failures = 0;
	backOnline();
}

function outageSeen() {
	failures += 1;
	if (outage) return;
	outage = true;
	connectionChanged();
	probe();
}

/**
 * Asks `/readyz` (503 while a service the server needs is down) until the server is ready. The
 * wait doubles with each outage in a row, so a server that is up but answers UNAVAILABLE is not
 * asked twice a second; an answered request resets it.
 */
function probe() {
	clearTimeout(probeTimer);
	probeTimer = setTimeout(
		async () => {
			try {
				const response = await fetch('/readyz', { cache: 'no-store' });
				// A server without the endpoint (404) answered all the same.
				if (response.ok || response.status === 404) return backOnline();
			} catch {
				// Still out of reach.
			}
			failures += 1;
			if (outage) probe();
		},
		Math.min(500 * 2 ** Math.max(0, failures - 1), 5_000)
	);
}

function backOnline() {
	if (!outage) return;
	outage = false;
	clearTimeout(probeTimer);
	connectionChanged();
	for (const listener of reconnectListeners) listener();
}

// --- subscriptions -------------------------------------------------------------------------

type SocketState = 'connecting' | 'live' | 'reconnecting';
/** `offline` while the server is known to be out of reach: the WebSocket lost it, or a request did. */
export type ConnectionState = 'online' | 'offline';

const connectionListeners = new Set<(state: ConnectionState) => void>();
let socketState: SocketState = 'connecting';

const connectionState = (): ConnectionState =>
	outage || socketState === 'reconnecting' ? 'offline' : 'online';

function connectionChanged() {
	const state = connectionState();
	for (const listener of connectionListeners) listener(state);
}

function setSocketState(state: SocketState) {
	socketState = state;
	connectionChanged();
}

/** Calls `listener` now and on every change of the connection's state; returns an unsubscribe. */
export function onConnectionState(listener: (state: ConnectionState) => void): () => void {
	connectionListeners.add(listener);
	listener(connectionState());
	return () => connectionListeners.delete(listener);
}

const PING_EVERY_MS = 10_000;
const PONG_WITHIN_MS = 5_000;

let client: Client | undefined;

function wsClient(): Client {
	if (client) return client;
	const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/graphql`;
	let socket: WebSocket | undefined;
	let pongTimer: ReturnType<typeof setTimeout> | undefined;
	client = createClient({
		url,
		// Keep trying for as long as the page is open: a restarted server or a dropped network
		// must not leave a page silently stale.
		retryAttempts: Infinity,
		shouldRetry: () => true,
		retryWait: (retries) =>
			new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 5_000))),
		// Keep the socket a moment after the last subscription stops, so moving between pages
		// does not reconnect.
		lazyCloseTimeout: 3_000,
		// A connection that died without a close frame is only noticed by a missing pong.
		keepAlive: PING_EVERY_MS,
		on: {
			connecting: (isRetry) => setSocketState(isRetry ? 'reconnecting' : 'connecting'),
			connected: (s, _payload, wasRetry) => {
				socket = s as WebSocket;
				// Also true when the very first attempt failed: the page's first load failed then too.
				if (wasRetry) outage = true;
				setSocketState('live');
				backOnline();
			},
			closed: () => {
				socket = undefined;
				clearTimeout(pongTimer);
			},
			ping: (received) => {
				if (received) return;
				pongTimer = setTimeout(() => {
					if (socket?.readyState === WebSocket.OPEN) socket.close(4408, 'Pong timeout');
				}, PONG_WITHIN_MS);
			},
			pong: (received) => {
				if (received) clearTimeout(pongTimer);
			}
		}
	});
	return client;
}

/**
 * Closes the live connection, so the next subscription opens a new one. The server learns who
 * the caller is when the socket opens (from the session cookie), so a sign-in or sign-out must
 * not reuse a socket opened before it.
 */
export function resetLiveConnection(): void {
	const old = client;
	client = undefined;
	old?.dispose();
}

export interface SubscribeOptions<T> {
	/** Called with each result's `data`. */
	next: (data: T) => void;
	/** Called when the subscription fails for good (not for drops, which are retried). */
	error?: (error: ApiError) => void;
}

/** Starts a subscription; returns the function that stops it. */
export function subscribe<T>(
	query: string,
	variables: Variables,
	{ next, error }: SubscribeOptions<T>
): () => void {
	const stop = wsClient().subscribe<T>(
		{ query, variables: variables as Record<string, unknown> },
		{
			next: (result) => {
				if (result.errors?.length) error?.(refused(firstError(result.errors)));
				else if (result.data) next(result.data as T);
			},
			error: (e) => {
				const message = e instanceof Error ? e.message : 'The live connection failed.';
				error?.(Array.isArray(e) ? refused(firstError(e)) : new ApiError(message, 'NETWORK_ERROR'));
			},
			complete: () => {}
		}
	);
	return stop;
}
