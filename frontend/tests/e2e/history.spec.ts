import { cancelOrder, CARDS, orderCoffee, orderStatus, payWith } from './customer';
import { expect, test } from './fixtures';

test('a customer cancels a paid order; my orders and the admin timeline show it', async ({ app, staff }) => {
	const customer = await app.open('/');
	const orderId = await orderCoffee(customer, 'Dana');
	await payWith(customer, CARDS.good);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');

	// "Cancel order" asks first; saying no keeps the order.
	await customer.getByTestId('cancel-button').click();
	await expect(customer.getByText("Cancel this order? We'll refund your payment.")).toBeVisible();
	await customer.getByTestId('cancel-keep').click();
	await expect(customer.getByTestId('cancel-confirm')).toHaveCount(0);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');

	await cancelOrder(customer);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_CANCELLED');
	await expect(orderStatus(customer)).toHaveText('You cancelled this order');
	await expect(customer.getByTestId('order-detail')).toHaveText('Your payment has been refunded.');
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_REFUNDED');

	await customer.getByRole('link', { name: 'My orders' }).click();
	const mine = customer.locator(`[data-testid="my-order"][data-order-id="${orderId}"]`);
	await expect(mine).toHaveAttribute('data-status', 'ORDER_CANCELLED');
	await expect(mine).toContainText('You cancelled');
	await app.screenshot(customer, '1-my-orders');

	const admin = await app.open('/admin', { as: staff.admin });
	const row = admin.locator(`[data-testid="admin-order-row"][data-order-id="${orderId}"]`);
	await row.getByRole('button').click();
	await expect(admin.getByTestId('timeline-event').first()).toBeVisible();
	await app.screenshot(admin, '2-timeline');
	await admin.getByTestId('timeline-close').click();
	await admin.getByTestId('admin-tab-payments').click();
	await expect(admin.locator(`[data-testid="admin-payment-row"][data-order-id="${orderId}"]`)).toBeVisible();
});

test('an unpaid order the customer cancelled says so, not that a payment failed', async ({ app }) => {
	const customer = await app.open('/');
	await orderCoffee(customer, 'Eve');
	await cancelOrder(customer);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_CANCELLED');
	await expect(orderStatus(customer)).toHaveText('You cancelled this order');
	await expect(customer.getByTestId('order-detail')).toHaveText("You haven't been charged.");
	const text = await customer.getByTestId('order-view').innerText();
	expect(text).not.toMatch(/failed|declined|cancelled by the customer/i);
	await expect(customer.getByTestId('card-input')).toHaveCount(0);
});

test('"Cancel order" stands apart from "Order another"', async ({ app }) => {
	const customer = await app.open('/');
	await orderCoffee(customer, 'Finn');
	const cancel = await customer.getByTestId('cancel-button').boundingBox();
	const another = await customer.getByTestId('new-order-button').boundingBox();
	expect(cancel && another).toBeTruthy();
	// Not side by side: the card form is between them.
	expect(cancel!.y - (another!.y + another!.height)).toBeGreaterThan(100);
});
