// The shop opens and closes: the admin closes it with a message, an open customer page says so
// at once and stops taking orders, and reopening brings the menu back.
import { expectAccessible } from './axe';
import { nameCustomer } from './customer';
import { expect, test } from './fixtures';
import { setCoffeeAvailableAsAdmin, setShopAsAdmin } from './seed';

test.afterEach(async ({ request }) => {
	// Whatever happened above, the next test finds the shop open.
	await setShopAsAdmin(request, true, null, null);
});

test('the admin closes the shop and a customer sees why they cannot order, then it opens again', async ({
	app,
	staff
}) => {
	const customer = await app.open('/');
	await nameCustomer(customer, 'Olive');
	const orderButton = customer.getByRole('button', { name: 'Order a Latte', exact: true });
	await expect(orderButton).toBeEnabled();
	await expect(customer.getByTestId('shop-closed')).toHaveCount(0);

	const admin = await app.open('/admin', { as: staff.admin, viewport: { width: 1440, height: 900 } });
	const settings = admin.getByTestId('shop-settings');
	await expect(settings.getByTestId('shop-summary')).toContainText('Open');
	await settings.getByLabel('Taking orders').uncheck();
	await settings.getByLabel('Message to customers').fill('Back at 7am');
	await settings.getByTestId('shop-save').click();
	await expect(settings.getByTestId('shop-saved')).toBeVisible();
	await expect(settings.getByTestId('shop-summary')).toContainText('Closed');

	// The customer's page was open all along: the subscription brings the news.
	const closed = customer.getByTestId('shop-closed');
	await expect(closed).toContainText("We're closed");
	await expect(closed.getByTestId('shop-message')).toHaveText('Back at 7am');
	await expect(orderButton).toBeDisabled();
	await expectAccessible(customer, 'shop-closed');
	await app.screenshot(customer, '1-closed');

	await settings.getByLabel('Taking orders').check();
	await settings.getByLabel('Message to customers').fill('');
	await settings.getByTestId('shop-save').click();
	await expect(settings.getByTestId('shop-summary')).toContainText('Open');
	await expect(closed).toHaveCount(0);
	await expect(orderButton).toBeEnabled();
});

test('a shop at its capacity says it is busy, and a bad capacity is refused with a reason', async ({
	app,
	staff,
	request
}) => {
	// Room for no more than the orders already open: a new customer is told to come back.
	const admin = await app.open('/admin', { as: staff.admin, viewport: { width: 1440, height: 900 } });
	const settings = admin.getByTestId('shop-settings');
	await settings.getByLabel('Most open orders at once (empty: no limit)').fill('0');
	await settings.getByTestId('shop-save').click();
	await expect(settings.getByRole('alert')).toContainText('at most 10,000 open orders');

	const shop = await setShopAsAdmin(request, true, 1, null);
	const customer = await app.open('/');
	await nameCustomer(customer, 'Pete');
	if (shop.queueLength < 1) {
		// An empty queue: one order fills it.
		await customer.getByRole('button', { name: 'Order a Latte', exact: true }).click();
		await expect(customer.getByTestId('order-view')).toBeVisible();
		await customer.goto('/');
	}
	await expect(customer.getByTestId('shop-closed')).toContainText("We're busy right now");
	await expect(customer.getByRole('button', { name: 'Order a Latte', exact: true })).toBeDisabled();
});

test('the admin marks a drink sold out and an open customer page stops offering it', async ({ app, staff, request }) => {
	const customer = await app.open('/');
	await nameCustomer(customer, 'Sol');
	await expect(customer.getByRole('button', { name: 'Order a Mocha', exact: true })).toBeEnabled();

	const admin = await app.open('/admin', { as: staff.admin, viewport: { width: 1440, height: 900 } });
	const mocha = admin.locator('[data-testid="menu-item"][data-coffee-id="3"]');
	await expect(mocha).toContainText('Mocha');
	try {
		await mocha.getByTestId('menu-available').uncheck();
		await expect(mocha).toContainText('Sold out');

		// The customer's menu was open all along: the drink is marked, its button gone quiet.
		const soldOut = customer.getByRole('button', { name: 'Mocha is sold out', exact: true });
		await expect(soldOut).toBeDisabled();
		await expect(soldOut).toHaveText('Sold out');
		await expect(customer.getByRole('button', { name: 'Order a Latte', exact: true })).toBeEnabled();
		await expectAccessible(admin, 'admin-menu');

		await mocha.getByTestId('menu-available').check();
		await expect(customer.getByRole('button', { name: 'Order a Mocha', exact: true })).toBeEnabled();
	} finally {
		await setCoffeeAvailableAsAdmin(request, '3', true);
	}
});
