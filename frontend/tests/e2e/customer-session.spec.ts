// A customer's session: giving a name starts it (POST /api/session), the server's customer id is
// the one the orders carry, a reload keeps it (the HttpOnly cookie), signing out ends it, and a
// session that ended elsewhere sends the page back to the name form instead of an error.
import type { Page } from '@playwright/test';
import { expectAccessible } from './axe';
import { CARDS, nameCustomer, orderFromMenu, orderStatus, payWith } from './customer';
import { expect, test } from './fixtures';

/** GET /api/session with the page's own cookies: who the server thinks the browser is. */
async function serverSession(page: Page): Promise<{ status: number; body: Record<string, unknown> | null }> {
	const response = await page.context().request.get('/api/session');
	return { status: response.status(), body: response.ok() ? await response.json() : null };
}

test('a customer names themselves, orders, pays, keeps the session on reload and signs out', async ({ app, baseURL }) => {
	const customer = await app.open('/');
	await expect(customer.getByTestId('customer-name-form')).toBeVisible();
	expect((await serverSession(customer)).status, 'no session before the name').toBe(401);

	await nameCustomer(customer, 'Ana');
	const started = await serverSession(customer);
	expect(started.status).toBe(200);
	expect(started.body).toMatchObject({ role: 'customer', customerName: 'Ana' });
	const customerId = started.body!.customerId as string;
	expect(customerId).toBeTruthy();
	// The cookie is the server's business: no script of the page can read it.
	expect(await customer.evaluate(() => document.cookie)).not.toContain('coffee_session');
	const cookies = await customer.context().cookies();
	const cookie = cookies.find((c) => c.name === 'coffee_session');
	expect(cookie?.httpOnly).toBe(true);
	expect(cookie?.sameSite).toBe('Lax');

	const orderId = await orderFromMenu(customer);
	await payWith(customer, CARDS.good);
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_SUCCESSFUL');
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');

	// The order is the session's customer's: the id came from the server, not from the page.
	const mine = await customer.context().request.post('/graphql', {
		headers: { origin: baseURL! },
		data: { query: 'query($o: ID!) { getOrder(orderId: $o) { customerId customerName } }', variables: { o: orderId } }
	});
	expect((await mine.json()).data.getOrder).toEqual({ customerId, customerName: 'Ana' });

	// A reload keeps who they are and the order they follow.
	await customer.reload();
	await expect(customer.getByTestId('greeting')).toHaveText('Hi Ana!');
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');
	await customer.goto('/orders');
	await expect(customer.locator(`[data-testid="my-order"][data-order-id="${orderId}"]`)).toBeVisible();
	await app.screenshot(customer, '1-my-orders-after-reload');

	// "Not Ana? Sign out": the session ends on the server, and the page asks for a name again.
	await customer.goto('/');
	await customer.getByRole('button', { name: 'Not Ana? Sign out' }).click();
	await expect(customer.getByTestId('customer-name-form')).toBeVisible();
	await expect(customer.getByTestId('greeting')).toHaveCount(0);
	expect((await serverSession(customer)).status, 'the cookie is gone').toBe(401);
	const oldToken = await customer.context().request.get('/api/session', {
		headers: { authorization: `Bearer ${cookie!.value}` }
	});
	expect(oldToken.status(), 'the token stopped working: the session ended on the server').toBe(401);
	expect((await customer.context().cookies()).find((c) => c.name === 'coffee_session')).toBeUndefined();
	await customer.reload();
	await expect(customer.getByTestId('customer-name-form')).toBeVisible();
	await app.screenshot(customer, '2-signed-out');

	// Whoever gives a name next is another customer, who does not see Ana's orders.
	await nameCustomer(customer, 'Ben');
	const next = await serverSession(customer);
	expect(next.body).toMatchObject({ role: 'customer', customerName: 'Ben' });
	expect(next.body!.customerId).not.toBe(customerId);
	await customer.goto('/orders');
	await expect(customer.getByTestId('empty')).toBeVisible();
	await expect(customer.getByTestId('my-order')).toHaveCount(0);
});

test('a session that ended in another tab sends the page back to the name form, not to an error', async ({ app }) => {
	const first = await app.open('/');
	await nameCustomer(first, 'Cleo');
	await expect(first.getByTestId('coffee-menu')).toBeVisible();

	// The same browser, another tab: signing out there ends the session for both.
	const second = await first.context().newPage();
	await second.goto('/');
	await expect(second.getByTestId('greeting')).toHaveText('Hi Cleo!');
	await second.getByTestId('sign-out').click();
	await expect(second.getByTestId('customer-name-form')).toBeVisible();

	// The first tab still shows the menu; its next request is refused (UNAUTHENTICATED), and
	// it asks for the name again, saying why, with no raw error.
	await first.getByRole('button', { name: 'Order a Latte', exact: true }).click();
	await expect(first.getByTestId('customer-name-form')).toBeVisible();
	await expect(first.getByTestId('session-ended')).toHaveText('You were signed out. Tell us your name to order again.');
	await expect(first.getByTestId('error-alert')).toHaveCount(0);
	await expect(first.locator('body')).not.toContainText(/UNAUTHENTICATED|sign in first/i);
	await app.screenshot(first, 'session-ended');
	await expectAccessible(first, 'customer-session-ended');

	// And a name starts a new session there.
	await nameCustomer(first, 'Cleo');
	await orderFromMenu(first);
});
