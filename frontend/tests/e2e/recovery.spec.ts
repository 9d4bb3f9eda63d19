// The server restarts (same port, same data): every page says once that the shop is out of
// reach, then, when it is back, the stale errors go and the pages show what changed meanwhile.
import { expectAccessible } from './axe';
import { cancelOrder, CARDS, orderCoffee, orderStatus, payWith } from './customer';
import { expect, startServer, stopServer, test } from './fixtures';
import { completeOrder } from './seed';

const OFFLINE = "We can't reach the shop right now. We'll keep trying.";

test('after the server comes back, stale errors go and fresh data shows', async ({ app, request, staff }) => {
	const customer = await app.open('/');
	const orderId = await orderCoffee(customer, 'Ivy');
	await payWith(customer, CARDS.good);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');
	const myOrders = await customer.context().newPage();
	await myOrders.goto('/orders');
	const mine = myOrders.locator(`[data-testid="my-order"][data-order-id="${orderId}"]`);
	await expect(mine).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');
	const admin = await app.open('/admin', { as: staff.admin });
	await expect(admin.locator(`[data-testid="admin-order-row"][data-order-id="${orderId}"]`)).toBeVisible();

	await stopServer();
	try {
		// The live pages notice by themselves; the others when they next ask.
		await expect(customer.getByTestId('offline')).toHaveText(OFFLINE);
		await expect(myOrders.getByTestId('offline')).toHaveText(OFFLINE);
		await cancelOrder(customer);
		await expect(customer.getByTestId('cancel-error')).toHaveText(
			"Your order wasn't cancelled. Please try again in a moment."
		);
		// A page without a live connection learns it when it next asks.
		await admin.getByTestId('admin-refresh').click();
		await expect(admin.getByTestId('offline')).toHaveText(OFFLINE);
		// Said once on each page, not by every part of it.
		expect((await customer.locator('body').innerText()).match(/can't reach the shop/g)).toHaveLength(1);
		expect((await admin.locator('body').innerText()).match(/can't reach the shop/g)).toHaveLength(1);
		await app.screenshot(customer, '1-offline');
		await expectAccessible(customer, 'customer-offline');
	} finally {
		await startServer();
	}
	// Meanwhile, the barista made the coffee.
	await completeOrder(request, orderId);

	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_COMPLETED');
	await expect(customer.getByTestId('offline')).toHaveCount(0);
	await expect(customer.getByTestId('cancel-error')).toHaveCount(0);
	await expect(mine).toHaveAttribute('data-status', 'ORDER_COMPLETED');
	await expect(myOrders.getByTestId('offline')).toHaveCount(0);
	await expect(admin.getByTestId('offline')).toHaveCount(0);
	await expect(admin.getByTestId('error-alert')).toHaveCount(0);
	await expect(admin.locator(`[data-testid="admin-order-row"][data-order-id="${orderId}"]`)).toBeVisible();
	await expect(customer.locator('body')).not.toContainText("can't reach");
	await app.screenshot(customer, '2-back');
});

test('an order page whose payment settings fail to load still shows the order and its payment', async ({ app }) => {
	const customer = await app.open('/', { expectedConsole: /status of 503/ });
	const orderId = await orderCoffee(customer, 'Jo');
	await payWith(customer, CARDS.good);
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_SUCCESSFUL');
	// Everything answers but the query for how the shop takes cards.
	await customer.route('**/graphql', (route) =>
		route.request().postData()?.includes('getCheckout')
			? route.fulfill({ status: 503, contentType: 'application/json', body: '{"errors":[{"message":"down"}]}' })
			: route.fallback()
	);
	await customer.goto(`/?order=${encodeURIComponent(orderId)}`);
	await expect(customer.getByTestId('error-alert')).toBeVisible();
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_SUCCESSFUL');
	await expect(customer.getByTestId('order-number')).toBeVisible();
});
