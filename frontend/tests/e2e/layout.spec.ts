// Sizes: the customer's pages fit a 390 px phone; the admin's tables use a 1,440 px desktop; the
// timeline is readable.
import { expect } from '@playwright/test';
import { cancelOrder, CARDS, nameCustomer, orderFromMenu, orderStatus, payWith } from './customer';
import { test } from './fixtures';
import { expectNoSidewaysScroll } from './width';

const PHONE = { width: 390, height: 844 };

test('no customer page scrolls sideways on a 390 px phone', async ({ app }) => {
	const customer = await app.open('/', { viewport: PHONE });
	await expect(customer.getByTestId('customer-name-input')).toBeVisible();
	await expectNoSidewaysScroll(customer, 'name form');
	await nameCustomer(customer, 'Wilhelmina');
	await expect(customer.getByTestId('coffee-menu')).toBeVisible();
	await expectNoSidewaysScroll(customer, 'menu');

	// Orders in every state a customer sees, for "My orders" afterwards.
	await orderFromMenu(customer, 'Cappuccino');
	await expectNoSidewaysScroll(customer, 'card form');
	await payWith(customer, CARDS.declined);
	await expect(customer.getByTestId('card-error')).toBeVisible();
	await expectNoSidewaysScroll(customer, 'declined');
	await customer.getByTestId('new-order-button').click();
	await orderFromMenu(customer, 'Mocha');
	await payWith(customer, CARDS.good);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');
	await customer.getByTestId('cancel-button').click();
	await expectNoSidewaysScroll(customer, 'cancel question');
	await customer.getByTestId('cancel-confirm').click();
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_CANCELLED');
	await customer.getByTestId('new-order-button').click();
	await orderFromMenu(customer, 'Latte');
	await cancelOrder(customer);
	await customer.getByTestId('new-order-button').click();
	await orderFromMenu(customer, 'Latte');

	await customer.getByRole('link', { name: 'My orders' }).click();
	await expect(customer.getByTestId('my-order')).toHaveCount(4);
	await expectNoSidewaysScroll(customer, 'my orders');
	await app.screenshot(customer, 'phone-my-orders');
	// Each badge stays inside its row.
	for (const row of await customer.getByTestId('my-order').all()) {
		const rowBox = (await row.boundingBox())!;
		const badge = (await row.locator('.badge').boundingBox())!;
		expect(badge.x + badge.width).toBeLessThanOrEqual(rowBox.x + rowBox.width);
	}
});

test('the admin’s tables use a 1,440 px desktop, and the timeline is readable', async ({ app, staff }) => {
	const customer = await app.open('/');
	await nameCustomer(customer, 'Tim');
	const orderId = await orderFromMenu(customer);
	await payWith(customer, CARDS.good);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');

	const admin = await app.open('/admin', { viewport: { width: 1440, height: 900 }, as: staff.admin });
	for (const tab of ['orders', 'payments', 'fulfilments']) {
		await admin.getByTestId(`admin-tab-${tab}`).click();
		const table = (await admin.getByTestId(`admin-${tab}`).boundingBox())!;
		expect(table.width, `the ${tab} table`).toBeGreaterThanOrEqual(1300);
	}
	await app.screenshot(admin, 'desktop-admin');

	await admin.getByTestId('admin-tab-orders').click();
	await admin.locator(`[data-testid="admin-order-row"][data-order-id="${orderId}"]`).getByRole('button').click();
	const events = admin.getByTestId('timeline-event');
	await expect(events.first()).toBeVisible();
	// Times as hh:mm (the order is today's; another day's would add the date).
	for (const time of await admin.getByTestId('timeline-time').allInnerTexts()) expect(time).toMatch(/^\d{2}:\d{2}$/);
	// The data as key/value pairs, one per line, not one line of JSON.
	const first = events.first();
	await first.getByText('Data').click();
	const data = first.getByTestId('timeline-data');
	await expect(data).toBeVisible();
	expect(await data.locator('dt').count()).toBeGreaterThan(2);
	await expect(data.locator('dt', { hasText: /^orderId$/ })).toHaveCount(1);
	await app.screenshot(admin, 'timeline');
});
