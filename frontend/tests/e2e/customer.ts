// The steps a customer takes on `/`, shared by the tests.
import { expect, type Page } from '@playwright/test';

export const CARDS = {
	good: '4242 4242 4242 4242',
	declined: '4000 0000 0000 0002'
};

/** Names the customer, orders the first coffee on the menu and returns the new order's id. */
export async function orderCoffee(page: Page, name: string): Promise<string> {
	await page.getByTestId('customer-name-input').fill(name);
	await page.getByTestId('customer-name-save').click();
	await page.getByTestId('order-button').first().click();
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

export const orderStatus = (page: Page) => page.getByTestId('order-status');
