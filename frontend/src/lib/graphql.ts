// The one GraphQL client of the app: queries and mutations are POSTed to `/graphql` with `fetch`,
// subscriptions go over one shared WebSocket (graphql-transport-ws protocol) to the same path.
// Both use the page's own origin, so the app works wherever the Rust server serves it.
import { createClient, type Client } from 'graphql-ws';

/**
 * A failed request, with a message meant for people. `code` is the server's `extensions.code`
 * (NOT_FOUND, BAD_USER_INPUT, CONFLICT, UNAVAILABLE, INTERNAL_SERVER_ERROR), or NETWORK_ERROR when the
 * server could not be reached or did not answer in GraphQL.
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

type Variables = Record<string, unknown>;

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
		throw new ApiError('Cannot reach the coffee server. Is it running?', 'NETWORK_ERROR');
	}
	// GraphQL errors may come with a 200 or a 4xx status; the body says what went wrong either way.
	const body = (await response.json().catch(() => null)) as GraphQLResponse<T> | null;
	if (body?.errors?.length) throw firstError(body.errors);
	if (!response.ok || !body?.data) {
		throw new ApiError(
			`The coffee server is not answering properly (HTTP ${response.status}). Try again in a moment.`,
			'NETWORK_ERROR'
		);
	}
	return body.data;
}

// --- subscriptions -------------------------------------------------------------------------

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

const connectionListeners = new Set<(state: ConnectionState) => void>();
const reconnectListeners = new Set<() => void>();
let connectionState: ConnectionState = 'connecting';

function setConnectionState(state: ConnectionState) {
	connectionState = state;
	for (const listener of connectionListeners) listener(state);
}

/** Calls `listener` now and on every change of the WebSocket's state; returns an unsubscribe. */
export function onConnectionState(listener: (state: ConnectionState) => void): () => void {
	connectionListeners.add(listener);
	listener(connectionState);
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
			connecting: (isRetry) => setConnectionState(isRetry ? 'reconnecting' : 'connecting'),
			connected: (s, _payload, wasRetry) => {
				socket = s as WebSocket;
				setConnectionState('live');
				// Also true when the very first attempt failed: the page's first load failed then too.
				if (wasRetry) for (const listener of reconnectListeners) listener();
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

export interface SubscribeOptions<T> {
	/** Called with each result's `data`. */
	next: (data: T) => void;
	/** Called when the subscription fails for good (not for drops, which are retried). */
	error?: (error: ApiError) => void;
	/**
	 * Called after a dropped connection came back. Subscriptions without an id do not replay the
	 * current state, so pages that use them reload their list here.
	 */
	reconnected?: () => void;
}

/** Starts a subscription; returns the function that stops it. */
export function subscribe<T>(
	query: string,
	variables: Variables,
	{ next, error, reconnected }: SubscribeOptions<T>
): () => void {
	const listener = () => reconnected?.();
	reconnectListeners.add(listener);
	const stop = wsClient().subscribe<T>(
		{ query, variables },
		{
			next: (result) => {
				if (result.errors?.length) error?.(firstError(result.errors));
				else if (result.data) next(result.data as T);
			},
			error: (e) => {
				const message = e instanceof Error ? e.message : 'The live connection failed.';
				error?.(Array.isArray(e) ? firstError(e) : new ApiError(message, 'NETWORK_ERROR'));
			},
			complete: () => {}
		}
	);
	return () => {
		reconnectListeners.delete(listener);
		stop();
	};
}

/** What to show a person for anything a request threw. */
export const errorMessage = (e: unknown): string =>
	e instanceof Error ? e.message : 'Something went wrong. Please try again.';
