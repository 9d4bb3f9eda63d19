// Who this browser is signed in as. The server keeps the session in an HttpOnly cookie, which no
// script can read: the app asks GET /api/session on load, and learns from the answers to
// POST /api/session (a customer gives their name), POST /api/staff/login and DELETE /api/session.
// The customer's id always comes from the session; the app never makes one up.
//
// localStorage keeps only a hint that a session was started here, so a first visit does not ask
// (and get a 401 in the console); the cookie alone proves anything.
import { browser } from '$app/environment';
import { isOutage } from './errors';
import { ApiError, noteAnswered, noteOutage, onReconnect, onUnauthenticated, resetLiveConnection } from './graphql';

export type Role = 'customer' | 'barista' | 'admin';

/** A session as the server describes it; `expiresAt` in seconds since the epoch. */
export interface Who {
	role: Role;
	/** The customer's id and name (customers only). */
	customerId?: string;
	customerName?: string;
	/** The member of staff's login name (staff only). */
	staffName?: string;
	expiresAt: number;
}

export interface Customer extends Who {
	role: 'customer';
	customerId: string;
	customerName: string;
}

export interface Staff extends Who {
	role: 'barista' | 'admin';
	staffName: string;
}

const HINT_KEY = 'coffee.session';
/** What the app kept before sessions existed: a name and a made-up id. */
const OLD_KEYS = ['coffee.customerName', 'coffee.customerId'];
/** setTimeout's longest wait. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A login refused: the wrong name or password, or too many attempts (wait `retryAfter` s). */
export class LoginError extends Error {
	constructor(
		readonly reason: 'wrong' | 'throttled',
		readonly retryAfter = 0
	) {
		super(reason === 'wrong' ? 'wrong name or password' : `too many attempts; retry in ${retryAfter} s`);
		this.name = 'LoginError';
	}
}

async function send(method: string, path: string, body?: object): Promise<Response> {
	try {
		const response = await fetch(path, {
			method,
			headers: body ? { 'content-type': 'application/json', accept: 'application/json' } : { accept: 'application/json' },
			body: body ? JSON.stringify(body) : undefined,
			cache: 'no-store'
		});
		if (response.status === 503) noteOutage();
		else noteAnswered();
		return response;
	} catch {
		noteOutage();
		throw new ApiError(`${method} ${path} failed: the server is out of reach`, 'NETWORK_ERROR');
	}
}

/** The REST error body `{"error": {"code", "message"}}` as an ApiError. */
async function failure(response: Response): Promise<ApiError> {
	const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
	const code = body?.error?.code ?? (response.status === 503 ? 'UNAVAILABLE' : 'INTERNAL_SERVER_ERROR');
	return new ApiError(body?.error?.message ?? `HTTP ${response.status}`, code);
}

function toWho(answer: Record<string, unknown>): Who {
	return {
		role: answer.role as Role,
		customerId: answer.customerId as string | undefined,
		customerName: answer.customerName as string | undefined,
		staffName: answer.staffName as string | undefined,
		expiresAt: Number(answer.expiresAt)
	};
}

class Session {
	/** False until the app knows whether there is a session (while prerendering, and on load). */
	known = $state(false);
	who = $state<Who | null>(null);
	/** The session ended by itself (it expired, or was ended elsewhere): the forms say so. */
	ended = $state(false);

	#loading: Promise<void> | undefined;
	#expiry: ReturnType<typeof setTimeout> | undefined;

	constructor() {
		if (!browser) return;
		for (const key of OLD_KEYS) localStorage.removeItem(key);
		onUnauthenticated(() => {
			if (this.who) this.#end(true);
		});
	}

	get customer(): Customer | null {
		return this.who?.role === 'customer' ? (this.who as Customer) : null;
	}

	get staff(): Staff | null {
		return this.who && this.who.role !== 'customer' ? (this.who as Staff) : null;
	}

	/** Learns who is signed in, once per page load (again after an outage cut the first try). */
	load(): Promise<void> {
		if (!browser) return Promise.resolve();
		this.#loading ??= this.#current();
		return this.#loading;
	}

	async #current(): Promise<void> {
		if (!localStorage.getItem(HINT_KEY)) {
			this.known = true;
			return;
		}
		try {
			const response = await send('GET', '/api/session');
			if (response.ok) this.#set(await response.json());
			else if (response.status === 401) this.#end(true);
			else throw await failure(response);
		} catch (e) {
			if (!isOutage(e)) {
				// An answer that makes no sense: start afresh (the name or login form).
				this.#end(false);
				return;
			}
			// Out of reach or busy: the connection notice says so; ask again once the shop is back.
			this.#loading = undefined;
			const stop = onReconnect(() => {
				stop();
				this.load();
			});
		}
	}

	/** A customer gives their name: a new session, as a new customer. */
	async startCustomer(customerName: string): Promise<Customer> {
		const response = await send('POST', '/api/session', { customerName: customerName.trim() });
		if (!response.ok) throw await failure(response);
		this.#set(await response.json());
		return this.customer!;
	}

	/** A member of staff signs in with their name and password. */
	async staffLogin(name: string, password: string): Promise<Staff> {
		const response = await send('POST', '/api/staff/login', { name: name.trim(), password });
		if (response.status === 401) throw new LoginError('wrong');
		if (response.status === 429) {
			const wait = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
			throw new LoginError('throttled', Number.isFinite(wait) && wait > 0 ? wait : 1);
		}
		if (!response.ok) throw await failure(response);
		this.#set(await response.json());
		return this.staff!;
	}

	/** Signs out: the session ends on the server and its cookie is cleared. */
	async signOut(): Promise<void> {
		const response = await send('DELETE', '/api/session');
		// 401: it had ended already; signed out all the same.
		if (!response.ok && response.status !== 401) throw await failure(response);
		this.#end(false);
	}

	#set(answer: Record<string, unknown>) {
		const who = toWho(answer);
		// The live connection was opened as whoever was signed in before.
		resetLiveConnection();
		localStorage.setItem(HINT_KEY, who.role);
		this.who = who;
		this.ended = false;
		this.known = true;
		clearTimeout(this.#expiry);
		const left = who.expiresAt * 1000 - Date.now();
		if (left < MAX_TIMER_MS) this.#expiry = setTimeout(() => this.#end(true), Math.max(0, left));
	}

	#end(byItself: boolean) {
		clearTimeout(this.#expiry);
		resetLiveConnection();
		localStorage.removeItem(HINT_KEY);
		this.who = null;
		this.ended = byItself;
		this.known = true;
	}
}

export const session = new Session();
