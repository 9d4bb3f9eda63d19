// The pickup board on the shop's TV: no login, and nothing but what anyone may see (the
// public getPickupBoard query and pickupBoardUpdated subscription: an order's number and the
// customer's first name).
import { expect, test } from './fixtures';
import { completeOrder, firstCoffee, orderNumberOf, paidOrder } from './seed';

test('the board needs no login and asks only for the public pickup board', async ({ app, request }) => {
	const coffee = await firstCoffee(request);
	const orderId = await paidOrder(request, 'Zora Quinn', coffee.id);
	const number = await orderNumberOf(request, orderId);

	const board = await app.open('/display', { viewport: { width: 1920, height: 1080 } });
	// What the page sends: its GraphQL requests and its subscriptions.
	const sent: string[] = [];
	board.on('request', (r) => {
		if (r.url().includes('/api/')) sent.push(`${r.method()} ${new URL(r.url()).pathname}`);
		if (r.url().endsWith('/graphql') && r.method() === 'POST') sent.push(JSON.parse(r.postData() ?? '{}').query);
	});
	board.on('websocket', (ws) => ws.on('framesent', (frame) => sent.push(String(frame.payload))));
	await board.reload();

	const tile = board.getByTestId('display-preparing').locator(`[data-testid="display-order"][data-order-number="${number}"]`);
	// The first name only, and the number.
	await expect(tile.getByTestId('display-name')).toHaveText('Zora');
	await expect(tile).toContainText(number);
	await expect(board.getByText('Quinn')).toHaveCount(0);
	await expect(board.getByTestId('staff-login-form')).toHaveCount(0);
	await expect(board.getByTestId('nav')).toHaveCount(0);
	expect(await board.context().cookies()).toEqual([]);

	// Live: the barista makes it, and it moves to "Ready" without a reload.
	await completeOrder(request, orderId);
	await expect(
		board.getByTestId('display-ready').locator(`[data-testid="display-order"][data-order-number="${number}"]`)
	).toBeVisible();

	const queries = sent.filter((s) => !s.startsWith('{"type":"ping"') && !s.startsWith('{"type":"pong"'));
	expect(queries.some((q) => q.includes('getPickupBoard'))).toBe(true);
	expect(queries.some((q) => q.includes('pickupBoardUpdated'))).toBe(true);
	for (const q of queries) {
		expect(q, 'the board asks for nothing but the pickup board').not.toMatch(
			/getOrderList|orderUpdated|getFulfilment|fulfilmentUpdated|customerId|\/api\/session/
		);
	}
});
