// The barista's flow with a login: a wrong password is refused in plain words, the right one
// signs in (and a reload keeps it), a drink is made, logging out returns to the login form; and
// the admin's page tells a barista it is for admins only.
import { expectAccessible } from './axe';
import { expect, signIn, test } from './fixtures';
import { completeOrder, firstCoffee, paidOrder } from './seed';

test('a barista signs in (after a wrong password), makes a drink and logs out', async ({ app, request, staff }) => {
	// The refused login's 401 is logged by the browser.
	const barista = await app.open('/barista', { expectedConsole: /status of 401/ });
	const form = barista.getByTestId('staff-login-form');
	await expect(form).toBeVisible();
	await expect(barista.getByTestId('fulfilment-queue')).toHaveCount(0);
	await expect(barista.getByRole('heading', { level: 1 })).toHaveText('Staff sign in');

	await barista.getByLabel('Name', { exact: true }).fill(staff.barista.name);
	await barista.getByLabel('Password', { exact: true }).fill(`${staff.barista.password}-wrong`);
	await barista.getByRole('button', { name: 'Sign in' }).click();
	await expect(barista.getByTestId('login-error')).toHaveText('Wrong name or password.');
	await expect(barista.getByLabel('Password', { exact: true })).toHaveAttribute('aria-invalid', 'true');
	await expect(barista.getByTestId('staff-who')).toHaveCount(0);
	await app.screenshot(barista, '1-wrong-password');

	await signIn(barista, staff.barista);
	await expect(barista.getByTestId('staff-who')).toContainText('barista');
	await expect(barista.getByRole('heading', { level: 1 })).toHaveText('To make');
	await expect(form).toHaveCount(0);

	// A paid order reaches the queue live; the barista makes it.
	const orderId = await paidOrder(request, 'Dmitri', (await firstCoffee(request)).id);
	const card = barista.locator(`[data-testid="fulfilment-card"][data-order-id="${orderId}"]`);
	await expect(card).toBeVisible();
	await expect(card.getByTestId('customer-name')).toHaveText('Dmitri');
	await app.screenshot(barista, '2-queue');

	// A reload keeps the barista signed in.
	await barista.reload();
	await expect(barista.getByTestId('staff-who')).toContainText(staff.barista.name);
	await expect(card).toBeVisible();
	await card.getByTestId('complete-button').click();
	await expect(card).toHaveCount(0);

	await barista.getByRole('button', { name: 'Log out' }).click();
	await expect(form).toBeVisible();
	await expect(barista.getByTestId('staff-who')).toHaveCount(0);
	await expect(barista.getByTestId('fulfilment-queue')).toHaveCount(0);
	expect((await barista.context().request.get('/api/session')).status()).toBe(401);
	await barista.reload();
	await expect(form).toBeVisible();
	await app.screenshot(barista, '3-logged-out');
});

test('too many attempts: the login form says how long to wait', async ({ app }) => {
	// The server's throttle counts failures per address, and every test comes from 127.0.0.1:
	// its 429 is answered here, so the other tests' logins are not slowed down.
	const barista = await app.open('/barista', { expectedConsole: /status of 429/ });
	await barista.route('**/api/staff/login', (route) =>
		route.fulfill({
			status: 429,
			headers: { 'retry-after': '7', 'content-type': 'application/json' },
			body: JSON.stringify({ error: { code: 'TOO_MANY_REQUESTS', message: 'too many failed logins' } })
		})
	);
	await barista.getByLabel('Name', { exact: true }).fill('someone');
	await barista.getByLabel('Password', { exact: true }).fill('a guess at it');
	await barista.getByRole('button', { name: 'Sign in' }).click();
	await expect(barista.getByTestId('login-error')).toHaveText('Too many attempts. Try again in 7 s.');
	await expectAccessible(barista, 'staff-login-throttled');
});

test('a barista on the admin page is told it is for admins only', async ({ app, staff }) => {
	const page = await app.open('/admin', { as: staff.barista });
	await expect(page.getByTestId('admins-only')).toContainText('for admins only');
	await expect(page.getByTestId('admin-orders')).toHaveCount(0);
	await expect(page.getByTestId('admin-tab-orders')).toHaveCount(0);
	await page.getByRole('link', { name: "go to the barista's queue" }).click();
	await expect(page.getByRole('heading', { level: 1 })).toHaveText('To make');
	await expect(page.getByTestId('staff-who')).toContainText(staff.barista.name);
});

test('a drink waiting longer than the shop allows is flagged on the barista’s card', async ({ app, request, staff }) => {
	const orderId = await paidOrder(request, 'Slowpoke', (await firstCoffee(request)).id);
	const barista = await app.open('/barista', { as: staff.barista });
	const card = barista.locator(`[data-testid="fulfilment-card"][data-order-id="${orderId}"]`);
	await expect(card).toHaveAttribute('data-slow', 'false');
	await expect(card.getByTestId('slow')).toHaveCount(0);
	// Eleven minutes later by the page's clock (the default --slow-order-after is ten); the queue
	// looks at its clock every 15 s.
	await barista.clock.setFixedTime(Date.now() + 11 * 60_000);
	await expect(card).toHaveAttribute('data-slow', 'true', { timeout: 20_000 });
	await expect(card.getByTestId('slow')).toHaveText(/^Waiting 1[01] min$/);
	// The pointer on a card's Reject button (as a barista's would be) keeps its contrast.
	await card.getByTestId('reject-button').hover();
	await expectAccessible(barista, 'barista-slow');
	// Made, so that later tests' boards are not crowded with it.
	await completeOrder(request, orderId);
});
