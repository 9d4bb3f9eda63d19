// The admin's flow with a login: signs in, sees the day's orders, payments and fulfilments
// (including one just paid for), and logs out back to the login form.
import { expectAccessible } from './axe';
import { expect, test } from './fixtures';
import { firstCoffee, paidOrder } from './seed';

test('an admin signs in, sees the day’s lists and logs out', async ({ app, request, staff }) => {
	const orderId = await paidOrder(request, 'Esme', (await firstCoffee(request)).id);

	const admin = await app.open('/admin', { viewport: { width: 1440, height: 900 } });
	await expect(admin.getByTestId('staff-login-form')).toBeVisible();
	await expect(admin.getByTestId('admin-orders')).toHaveCount(0);
	await admin.getByLabel('Name', { exact: true }).fill(staff.admin.name);
	await admin.getByLabel('Password', { exact: true }).fill(staff.admin.password);
	await admin.getByRole('button', { name: 'Sign in' }).click();
	await expect(admin.getByTestId('staff-who')).toContainText(`${staff.admin.name} (admin)`);

	await expect(admin.locator(`[data-testid="admin-order-row"][data-order-id="${orderId}"]`)).toContainText('Esme');
	await admin.getByTestId('admin-tab-payments').click();
	await expect(admin.locator(`[data-testid="admin-payment-row"][data-order-id="${orderId}"]`)).toBeVisible();
	await admin.getByTestId('admin-tab-fulfilments').click();
	await expect(admin.locator(`[data-testid="admin-fulfilment-row"][data-order-id="${orderId}"]`)).toBeVisible();
	await app.screenshot(admin, '1-lists');

	// A reload keeps the admin signed in.
	await admin.reload();
	await expect(admin.getByTestId('staff-who')).toContainText(staff.admin.name);
	await expect(admin.locator(`[data-testid="admin-order-row"][data-order-id="${orderId}"]`)).toBeVisible();

	await admin.getByRole('button', { name: 'Log out' }).click();
	await expect(admin.getByTestId('staff-login-form')).toBeVisible();
	await expect(admin.getByTestId('admin-orders')).toHaveCount(0);
	await admin.reload();
	await expect(admin.getByTestId('staff-login-form')).toBeVisible();
	await app.screenshot(admin, '2-logged-out');
});

test('a staff session that ended elsewhere sends the page back to the login form, not to an error', async ({
	app,
	staff
}) => {
	const admin = await app.open('/admin', { as: staff.admin });
	await expect(admin.getByTestId('admin-tab-orders')).toBeVisible();

	// Logged out in another tab of the same browser: the cookie and the session are gone.
	const other = await admin.context().newPage();
	await other.goto('/barista');
	await expect(other.getByTestId('staff-who')).toContainText(staff.admin.name);
	await other.getByRole('button', { name: 'Log out' }).click();
	await expect(other.getByTestId('staff-login-form')).toBeVisible();

	// The first tab's next request is refused: it shows the login form and says why.
	await admin.getByTestId('admin-refresh').click();
	await expect(admin.getByTestId('staff-login-form')).toBeVisible();
	await expect(admin.getByTestId('session-ended')).toHaveText('Your session has ended. Please sign in again.');
	await expect(admin.getByTestId('error-alert')).toHaveCount(0);
	await expect(admin.getByTestId('staff-who')).toHaveCount(0);
	await expectAccessible(admin, 'staff-session-ended');

	// Signing in again brings the page back.
	await admin.getByLabel('Name', { exact: true }).fill(staff.admin.name);
	await admin.getByLabel('Password', { exact: true }).fill(staff.admin.password);
	await admin.getByRole('button', { name: 'Sign in' }).click();
	await expect(admin.getByTestId('admin-tab-orders')).toBeVisible();
	await expect(admin.getByTestId('session-ended')).toHaveCount(0);
});
