// Orders made straight through the API, for tests that need many of them (the pickup board)
// faster than a browser could place them, and the barista's steps without a browser. Each call
// proves who makes it, as the web app does: a customer's session (POST /api/session) or the
// barista's login (POST /api/staff/login), sent as `Authorization: Bearer <token>`.
import { expect, type APIRequestContext } from '@playwright/test';
import { staffLogins } from './fixtures';
import type { StaffLogin } from './servers';

export const GOOD_CARD = '4242424242424242';

export interface Session {
	token: string;
	role: string;
	customerId?: string;
	customerName?: string;
	staffName?: string;
	expiresAt: number;
}

/** Runs a GraphQL operation as `token`'s holder (anonymous without one) and returns its data. */
export async function gql<T>(request: APIRequestContext, query: string, variables: object = {}, token?: string): Promise<T> {
	const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
	const response = await request.post('/graphql', { data: { query, variables }, headers });
	const body = await response.json();
	expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
	return body.data as T;
}

/** A new customer's session, as the web app starts one when they give their name. */
export async function customerSession(request: APIRequestContext, customerName: string): Promise<Session> {
	const response = await request.post('/api/session', { data: { customerName } });
	expect(response.status(), await response.text()).toBe(201);
	const session = (await response.json()) as Session;
	expect(session.role).toBe('customer');
	expect(session.customerId).toBeTruthy();
	return session;
}

/** A member of staff's session. */
export async function staffSession(request: APIRequestContext, login: StaffLogin): Promise<Session> {
	const response = await request.post('/api/staff/login', { data: { name: login.name, password: login.password } });
	expect(response.status(), await response.text()).toBe(200);
	const session = (await response.json()) as Session;
	expect(session.role).toBe(login.role);
	return session;
}

let baristaToken: string | undefined;

/** The barista's token, signed in once per worker. */
async function barista(request: APIRequestContext): Promise<string> {
	baristaToken ??= (await staffSession(request, staffLogins().barista)).token;
	return baristaToken;
}

export async function firstCoffee(request: APIRequestContext): Promise<{ id: string; name: string }> {
	const { getCoffees } = await gql<{ getCoffees: { id: string; name: string }[] }>(request, '{ getCoffees { id name } }');
	return getCoffees[0];
}

/**
 * A new customer named `name` places an order and pays for it: it is then in progress, with a
 * fulfilment for the barista.
 */
export async function paidOrder(request: APIRequestContext, name: string, coffeeId: string): Promise<string> {
	const customer = await customerSession(request, name);
	const { createOrder } = await gql<{ createOrder: { id: string } }>(
		request,
		`mutation($c: ID!, $n: String!, $id: String!) {
			createOrder(coffeeId: $c, customerId: $id, customerName: $n) { id }
		}`,
		{ c: coffeeId, n: name, id: customer.customerId },
		customer.token
	);
	const { makePayment } = await gql<{ makePayment: { id: string } }>(
		request,
		'mutation($o: ID!) { makePayment(orderId: $o) { id } }',
		{ o: createOrder.id },
		customer.token
	);
	await gql(
		request,
		'mutation($p: ID!, $card: String!) { confirmPayment(paymentId: $p, cardNumber: $card) { id } }',
		{ p: makePayment.id, card: GOOD_CARD },
		customer.token
	);
	return createOrder.id;
}

let adminToken: string | undefined;

/** The shop's settings, set by the admin through the API; answers the shop as it now stands. */
export async function setShopAsAdmin(
	request: APIRequestContext,
	open: boolean,
	capacity: number | null,
	message: string | null
): Promise<{ open: boolean; queueLength: number }> {
	adminToken ??= (await staffSession(request, staffLogins().admin)).token;
	const { setShop } = await gql<{ setShop: { open: boolean; queueLength: number } }>(
		request,
		'mutation($o: Boolean!, $c: Int, $m: String) { setShop(open: $o, capacity: $c, message: $m) { open queueLength } }',
		{ o: open, c: capacity, m: message },
		adminToken
	);
	return setShop;
}

/** A drink sold out or back, by the admin through the API. */
export async function setCoffeeAvailableAsAdmin(request: APIRequestContext, coffeeId: string, available: boolean): Promise<void> {
	adminToken ??= (await staffSession(request, staffLogins().admin)).token;
	await gql(request, 'mutation($c: ID!, $a: Boolean) { changeCoffee(coffeeId: $c, available: $a) { id } }', { c: coffeeId, a: available }, adminToken);
}

/** Takes every drink with this name off the menu, by the admin through the API (a test's cleanup). */
export async function removeDrinksNamedAsAdmin(request: APIRequestContext, name: string): Promise<void> {
	adminToken ??= (await staffSession(request, staffLogins().admin)).token;
	const { getCoffees } = await gql<{ getCoffees: { id: string; name: string }[] }>(request, '{ getCoffees { id name } }');
	for (const drink of getCoffees.filter((c) => c.name === name)) {
		await gql(request, 'mutation($c: ID!) { removeCoffee(coffeeId: $c) { id } }', { c: drink.id }, adminToken);
	}
}

/** The number the barista calls for a paid order, as the barista's queue has it. */
export async function orderNumberOf(request: APIRequestContext, orderId: string): Promise<string> {
	const token = await barista(request);
	let number: number | null | undefined;
	await expect
		.poll(async () => {
			const { getFulfilmentForOrder } = await gql<{ getFulfilmentForOrder: { orderNumber: number | null } | null }>(
				request,
				'query($o: ID!) { getFulfilmentForOrder(orderId: $o) { orderNumber } }',
				{ o: orderId },
				token
			);
			number = getFulfilmentForOrder?.orderNumber;
			return number;
		})
		.toBeGreaterThan(0);
	return String(number);
}

/** The fulfilment of a paid order, once the fulfilment service has made it, as the barista sees it. */
async function fulfilmentOf(request: APIRequestContext, orderId: string, token: string): Promise<string> {
	let fulfilmentId: string | undefined;
	await expect
		.poll(async () => {
			const { getFulfilmentForOrder } = await gql<{ getFulfilmentForOrder: { id: string } | null }>(
				request,
				'query($o: ID!) { getFulfilmentForOrder(orderId: $o) { id } }',
				{ o: orderId },
				token
			);
			fulfilmentId = getFulfilmentForOrder?.id;
			return fulfilmentId;
		})
		.toBeTruthy();
	return fulfilmentId!;
}

/** The barista makes an order that was paid for: it is then ready to collect. */
export async function completeOrder(request: APIRequestContext, orderId: string): Promise<void> {
	const token = await barista(request);
	const f = await fulfilmentOf(request, orderId, token);
	await gql(request, 'mutation($f: ID!) { completeFulfilment(fulfilmentId: $f) { id } }', { f }, token);
}

/** The barista rejects a paid order's drink: the order is cancelled and the payment refunded. */
export async function rejectOrder(request: APIRequestContext, orderId: string, note: string): Promise<void> {
	const token = await barista(request);
	const f = await fulfilmentOf(request, orderId, token);
	await gql(request, 'mutation($f: ID!, $n: String) { rejectFulfilment(fulfilmentId: $f, note: $n) { id } }', { f, n: note }, token);
}

/** The pickup board as anyone sees it (no session). */
export async function pickupBoard(request: APIRequestContext): Promise<{ number: string; name: string; status: string; updatedAt: number }[]> {
	const { getPickupBoard } = await gql<{
		getPickupBoard: { number: string; name: string; status: string; updatedAt: number }[];
	}>(request, '{ getPickupBoard { number name status updatedAt } }');
	return getPickupBoard;
}
