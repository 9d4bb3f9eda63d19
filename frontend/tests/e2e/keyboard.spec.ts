// The customer's whole flow with the keyboard alone: name, order, pay, see it ready; and the
// barista's: sign in, make a drink, move to another staff page.
import { expect, type Locator, type Page } from '@playwright/test';
import { expectAccessible } from './axe';
import { orderStatus } from './customer';
import { test } from './fixtures';
import { completeOrder, firstCoffee, paidOrder } from './seed';

/** Presses Tab until `target` has the focus (at most `max` times), and says how it looked. */
async function tabTo(page: Page, name: string | RegExp, role: 'button' | 'link' | 'textbox', max = 25) {
	await tabToElement(page, page.getByRole(role, { name, exact: typeof name === 'string' }), `${role} "${name}"`, max);
}

async function tabToElement(page: Page, target: Locator, what: string, max = 25) {
	for (let i = 0; i < max; i++) {
		await page.keyboard.press('Tab');
		if (await target.evaluate((el) => el === document.activeElement).catch(() => false)) {
			// Focus is visible: an outline (or the browser's focus ring) is drawn around it.
			const outline = await target.evaluate((el) => {
				const style = getComputedStyle(el);
				return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
			});
			expect(outline.style, `focus outline of ${what}`).not.toBe('none');
			expect(outline.width, `focus outline of ${what}`).toBeGreaterThan(0);
			return;
		}
	}
	throw new Error(`Tab never reached the ${what}`);
}

test('a customer orders, pays and sees it ready with the keyboard only', async ({ app, request }) => {
	const customer = await app.open('/');
	await tabTo(customer, 'Your name', 'textbox');
	await customer.keyboard.type('Kay');
	await customer.keyboard.press('Enter');
	await expect(customer.getByTestId('greeting')).toHaveText('Hi Kay!');

	await tabTo(customer, 'Order a Latte', 'button');
	await customer.keyboard.press('Enter');
	await expect(customer.getByTestId('card-input')).toBeVisible();

	await tabTo(customer, 'Card number', 'textbox');
	await customer.keyboard.type('4242 4242 4242 4242');
	await tabTo(customer, 'Pay', 'button');
	await customer.keyboard.press('Enter');
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');

	const orderId = await customer.getByTestId('order-view').getAttribute('data-order-id');
	await completeOrder(request, orderId!);
	await expect(orderStatus(customer)).toHaveText('Ready to collect!');
	await expect(customer).toHaveTitle('Ready: Latte — Event Driven Coffee');

	// The navigation's links show where the focus is too.
	await tabTo(customer, 'My orders', 'link');
	await customer.keyboard.press('Enter');
	await expect(customer.getByTestId('my-order')).toHaveCount(1);
	await expectAccessible(customer, 'keyboard-my-orders');
});

test('a barista signs in, makes a drink and goes to the pickup board with the keyboard only', async ({
	app,
	request,
	staff
}) => {
	const barista = await app.open('/barista');
	await tabTo(barista, 'Name', 'textbox');
	await barista.keyboard.type(staff.barista.name);
	await tabTo(barista, 'Password', 'textbox', 5);
	await barista.keyboard.type(staff.barista.password);
	await barista.keyboard.press('Enter');
	await expect(barista.getByTestId('staff-who')).toContainText(staff.barista.name);

	const orderId = await paidOrder(request, 'Kit', (await firstCoffee(request)).id);
	const card = barista.locator(`[data-testid="fulfilment-card"][data-order-id="${orderId}"]`);
	await expect(card).toBeVisible();
	await tabToElement(barista, card.getByTestId('complete-button'), 'its card\'s complete button', 200);
	await barista.keyboard.press('Enter');
	await expect(card).toHaveCount(0);

	// The staff navigation's links show where the focus is too.
	await tabTo(barista, 'Pickup board', 'link');
	await barista.keyboard.press('Enter');
	await expect(barista).toHaveURL(/\/display$/);
});
