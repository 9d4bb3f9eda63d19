// Every page in each of its states, checked with axe-core: no serious or critical violation.
// (The declined card and the offline notice are checked in their own tests.)
import { expectAccessible } from './axe';
import { cancelOrder, CARDS, nameCustomer, orderCoffee, orderFromMenu, orderStatus, payWith } from './customer';
import { expect, signIn, test } from './fixtures';
import { completeOrder } from './seed';

test('the customer’s pages, in each state', async ({ app, request }) => {
	const customer = await app.open('/');
	await expect(customer.getByTestId('customer-name-input')).toBeVisible();
	await expectAccessible(customer, 'customer-name-form');

	await nameCustomer(customer, 'Axel');
	await expect(customer.getByTestId('coffee-menu')).toBeVisible();
	await expectAccessible(customer, 'customer-menu');

	await customer.goto('/orders');
	await expect(customer.getByTestId('empty')).toBeVisible();
	await expectAccessible(customer, 'my-orders-empty');
	await customer.goto('/');

	const orderId = await orderFromMenu(customer);
	await expectAccessible(customer, 'customer-card-form');
	await payWith(customer, '1234');
	await expect(customer.getByTestId('card-error')).toBeVisible();
	await expectAccessible(customer, 'customer-card-error');
	await payWith(customer, CARDS.good);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');
	await expectAccessible(customer, 'customer-being-made');
	await customer.getByTestId('cancel-button').click();
	await expectAccessible(customer, 'customer-cancel-question');
	await customer.getByTestId('cancel-keep').click();
	await completeOrder(request, orderId);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_COMPLETED');
	await expectAccessible(customer, 'customer-ready');

	await customer.getByTestId('new-order-button').click();
	await orderFromMenu(customer, 'Mocha');
	await cancelOrder(customer);
	await expect(orderStatus(customer)).toHaveText('You cancelled this order');
	await expectAccessible(customer, 'customer-cancelled');

	await customer.goto('/orders');
	await expect(customer.getByTestId('my-order')).toHaveCount(2);
	await expectAccessible(customer, 'my-orders');
});

test('the customer’s pages in the dark theme', async ({ app }) => {
	const customer = await app.open('/', { colorScheme: 'dark' });
	await expectAccessible(customer, 'dark-name-form');
	await orderCoffee(customer, 'Dee');
	await expectAccessible(customer, 'dark-card-form');
	await payWith(customer, CARDS.declined);
	await expect(customer.getByTestId('card-error')).toBeVisible();
	await expectAccessible(customer, 'dark-declined');
});

test('the staff login, the barista’s queue, the pickup board and the not-found page', async ({ app, staff }) => {
	// Five pages and nine axe scans: 33 s on a quiet machine, over 60 s beside a mutation run.
	test.setTimeout(120_000);
	const customer = await app.open('/');
	const orderId = await orderCoffee(customer, 'Bo');
	await payWith(customer, CARDS.good);
	// The wrong password's 401 is logged by the browser.
	const barista = await app.open('/barista', { expectedConsole: /status of 401/ });
	await expect(barista.getByTestId('staff-login-form')).toBeVisible();
	await expectAccessible(barista, 'staff-login');
	await barista.getByLabel('Name', { exact: true }).fill(staff.barista.name);
	await barista.getByLabel('Password', { exact: true }).fill('not the password');
	await barista.getByRole('button', { name: 'Sign in' }).click();
	await expect(barista.getByTestId('login-error')).toBeVisible();
	await expectAccessible(barista, 'staff-login-error');
	await signIn(barista, staff.barista);
	const card = barista.locator(`[data-testid="fulfilment-card"][data-order-id="${orderId}"]`);
	await expect(card).toBeVisible();
	await expectAccessible(barista, 'barista-queue');
	await card.getByTestId('reject-button').click();
	await expectAccessible(barista, 'barista-rejecting');

	const board = await app.open('/display', { viewport: { width: 1920, height: 1080 } });
	await expect(board.getByTestId('display-preparing').getByTestId('display-order').first()).toBeVisible();
	await expectAccessible(board, 'display');

	const notAdmin = await app.open('/admin', { as: staff.barista });
	await expect(notAdmin.getByTestId('admins-only')).toBeVisible();
	await expectAccessible(notAdmin, 'admins-only');

	const missing = await app.open('/no/such/page', { expectedConsole: /404|Not found: \/no\/such\/page/ });
	await expect(missing.getByRole('heading', { level: 1 })).toHaveText("There's no page here");
	await expectAccessible(missing, 'not-found');
});

test('the admin’s tabs, an empty day and the timeline', async ({ app, staff }) => {
	const customer = await app.open('/');
	const orderId = await orderCoffee(customer, 'Ada');
	await payWith(customer, CARDS.good);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');

	const admin = await app.open('/admin', { viewport: { width: 1440, height: 900 }, as: staff.admin });
	await expect(admin.getByTestId('admin-orders')).toBeVisible();
	await expectAccessible(admin, 'admin-orders');
	await admin.getByTestId('admin-tab-payments').click();
	await expect(admin.getByTestId('admin-payments')).toBeVisible();
	await expectAccessible(admin, 'admin-payments');
	await admin.getByTestId('admin-tab-fulfilments').click();
	await expect(admin.getByTestId('admin-fulfilments')).toBeVisible();
	await expectAccessible(admin, 'admin-fulfilments');

	await admin.getByTestId('admin-tab-orders').click();
	await admin.locator(`[data-testid="admin-order-row"][data-order-id="${orderId}"]`).getByRole('button').click();
	await expect(admin.getByTestId('timeline-event').first()).toBeVisible();
	await admin.getByTestId('timeline-event').first().getByText('Data').click();
	await expectAccessible(admin, 'admin-timeline');
	await admin.getByTestId('timeline-close').click();

	await admin.getByLabel('Day (UTC)').fill('2001-01-01');
	await expect(admin.getByTestId('empty')).toBeVisible();
	await expectAccessible(admin, 'admin-empty-day');
});
