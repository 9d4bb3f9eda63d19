import { CARDS, orderCoffee, orderStatus, payWith } from './customer';
import { expect, test } from './fixtures';
import { orderNumberOf } from './seed';

test('a paid order is made by the barista and shows ready to the customer, in the tab and on the display', async ({
	app,
	staff,
	request
}) => {
	const customer = await app.open('/');
	const barista = await app.open('/barista', { as: staff.barista });
	const display = await app.open('/display');
	await expect(display.getByTestId('display-ready')).toBeVisible();

	const orderId = await orderCoffee(customer, 'Alice');
	await expect(customer).toHaveTitle('Pay now: Latte — Event Driven Coffee');
	await app.screenshot(customer, '1-card-form');
	await payWith(customer, CARDS.good);
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_SUCCESSFUL');
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');
	await expect(orderStatus(customer)).toHaveText('Being made');
	await expect(customer).toHaveTitle('Being made: Latte — Event Driven Coffee');
	await app.screenshot(customer, '2-being-made');

	// The barista's queue and the display were open before the order existed: it arrives live.
	const card = barista.locator(`[data-testid="fulfilment-card"][data-order-id="${orderId}"]`);
	await expect(card).toBeVisible();
	await expect(card.getByTestId('customer-name')).toHaveText('Alice');
	// The day's number, which the customer saw when ordering; the board shows it with the
	// customer's first name, nothing else.
	const number = await orderNumberOf(request, orderId);
	expect(Number(number)).toBeGreaterThan(0);
	await expect(card.getByTestId('order-number')).toHaveText(`#${number}`);
	await expect(customer.getByTestId('order-view')).toContainText(`#${number}`);
	const onDisplay = (column: string) =>
		display.getByTestId(column).locator(`[data-testid="display-order"][data-order-number="${number}"]`);
	await expect(onDisplay('display-preparing')).toContainText('Alice');
	await app.screenshot(barista, '3-barista-queue');
	await app.screenshot(display, '4-display-preparing');

	await card.getByTestId('complete-button').click();
	await expect(card).toHaveCount(0);

	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_COMPLETED');
	await expect(orderStatus(customer)).toContainText(/ready/i);
	// A customer looking at another tab sees it in this one's title.
	await expect(customer).toHaveTitle('Ready: Latte — Event Driven Coffee');
	await expect(onDisplay('display-ready')).toContainText('Alice');
	await expect(onDisplay('display-preparing')).toHaveCount(0);
	await app.screenshot(customer, '5-ready');
	await app.screenshot(display, '6-display-ready');
});
