import { CARDS, orderCoffee, orderStatus, payWith } from './customer';
import { expect, test } from './fixtures';

test('a customer cancels a paid order; my orders and the admin timeline show it', async ({ app }) => {
	const customer = await app.open('/');
	const orderId = await orderCoffee(customer, 'Dana');
	await payWith(customer, CARDS.good);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');

	await customer.getByTestId('cancel-button').click();
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_CANCELLED');
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_REFUNDED');

	await customer.getByRole('link', { name: 'My orders' }).click();
	const mine = customer.locator(`[data-testid="my-order"][data-order-id="${orderId}"]`);
	await expect(mine).toHaveAttribute('data-status', 'ORDER_CANCELLED');
	await app.screenshot(customer, '1-my-orders');

	const admin = await app.open('/admin');
	const row = admin.locator(`[data-testid="admin-order-row"][data-order-id="${orderId}"]`);
	await row.getByRole('button').click();
	await expect(admin.getByTestId('timeline-event').first()).toBeVisible();
	await app.screenshot(admin, '2-timeline');
	await admin.getByTestId('timeline-close').click();
	await admin.getByTestId('admin-tab-payments').click();
	await expect(admin.locator(`[data-testid="admin-payment-row"][data-order-id="${orderId}"]`)).toBeVisible();
});
