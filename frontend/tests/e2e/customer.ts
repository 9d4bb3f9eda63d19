// The steps a customer takes on `/`, shared by the tests.
import { expect, type Page } from '@playwright/test';

export const CARDS = {
	good: '4242 4242 4242 4242',
	declined: '4000 0000 0000 0002',
	insufficient: '4000 0000 0000 9995'
};

/** Names the customer (on a first visit). */
export async function nameCustomer(page: Page, name: string): Promise<void> {
	await page.getByTestId('customer-name-input').fill(name);
	await page.getByTestId('customer-name-save').click();
	await expect(page.getByTestId('greeting')).toHaveText(`Hi ${name}!`);
}

/** Names the customer, orders a coffee (by its button, "Order a Latte") and returns the order's id. */
export async function orderCoffee(page: Page, name: string, coffee = 'Latte'): Promise<string> {
	await nameCustomer(page, name);
	return orderFromMenu(page, coffee);
}

/** Orders a coffee from the menu (the customer is named) and returns the order's id. */
export async function orderFromMenu(page: Page, coffee = 'Latte'): Promise<string> {
	await page.getByRole('button', { name: `Order a ${coffee}`, exact: true }).click();
	const view = page.getByTestId('order-view');
	await expect(view).toBeVisible();
	await expect(page.getByTestId('card-input')).toBeVisible();
	const orderId = await view.getAttribute('data-order-id');
	expect(orderId).toBeTruthy();
	return orderId!;
}

export async function payWith(page: Page, card: string): Promise<void> {
	await page.getByTestId('card-input').fill(card);
	await page.getByTestId('pay-button').click();
}

/** "Cancel order", then yes to the question it asks. */
export async function cancelOrder(page: Page): Promise<void> {
	await page.getByTestId('cancel-button').click();
	await page.getByTestId('cancel-confirm').click();
}

export const orderStatus = (page: Page) => page.getByTestId('order-status');

/** What the order page says, without the card form's list of test cards (which names outcomes). */
export async function orderViewWords(page: Page): Promise<string> {
	return page.getByTestId('order-view').evaluate((view) => {
		const copy = view.cloneNode(true) as HTMLElement;
		copy.querySelectorAll('[data-testid="test-cards"]').forEach((list) => list.remove());
		document.body.appendChild(copy);
		const text = copy.innerText;
		copy.remove();
		return text;
	});
}
