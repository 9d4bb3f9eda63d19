// Orders made straight through the GraphQL API, for tests that need many of them (the pickup
// board) faster than a browser could place them.
import { expect, type APIRequestContext } from '@playwright/test';

export const GOOD_CARD = '4242424242424242';

export async function gql<T>(request: APIRequestContext, query: string, variables: object = {}): Promise<T> {
	const response = await request.post('/graphql', { data: { query, variables } });
	const body = await response.json();
	expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
	return body.data as T;
}

export async function firstCoffee(request: APIRequestContext): Promise<{ id: string; name: string }> {
	const { getCoffees } = await gql<{ getCoffees: { id: string; name: string }[] }>(
		request,
		'{ getCoffees { id name } }'
	);
	return getCoffees[0];
}

/** Places an order and pays for it: it is then in progress, with a fulfilment for the barista. */
export async function paidOrder(request: APIRequestContext, name: string, coffeeId: string): Promise<string> {
	const { createOrder } = await gql<{ createOrder: { id: string } }>(
		request,
		`mutation($c: ID!, $n: String!, $id: String!) {
			createOrder(coffeeId: $c, customerId: $id, customerName: $n) { id }
		}`,
		{ c: coffeeId, n: name, id: `seed-${name}` }
	);
	const { makePayment } = await gql<{ makePayment: { id: string } }>(
		request,
		'mutation($o: ID!) { makePayment(orderId: $o) { id } }',
		{ o: createOrder.id }
	);
	await gql(request, 'mutation($p: ID!, $card: String!) { confirmPayment(paymentId: $p, cardNumber: $card) { id } }', {
		p: makePayment.id,
		card: GOOD_CARD
	});
	return createOrder.id;
}

/** The barista makes an order that was paid for: it is then ready to collect. */
export async function completeOrder(request: APIRequestContext, orderId: string): Promise<void> {
	let fulfilmentId: string | undefined;
	await expect
		.poll(async () => {
			const { getFulfilmentForOrder } = await gql<{ getFulfilmentForOrder: { id: string } | null }>(
				request,
				'query($o: ID!) { getFulfilmentForOrder(orderId: $o) { id } }',
				{ o: orderId }
			);
			fulfilmentId = getFulfilmentForOrder?.id;
			return fulfilmentId;
		})
		.toBeTruthy();
	await gql(request, 'mutation($f: ID!) { completeFulfilment(fulfilmentId: $f) { id } }', { f: fulfilmentId });
}
