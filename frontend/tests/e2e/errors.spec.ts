import { nameCustomer, orderCoffee, payWith } from './customer';
import { expect, test } from './fixtures';

test('a card number that is not one says so in plain words, once', async ({ app }) => {
	const customer = await app.open('/');
	await orderCoffee(customer, 'Gus');
	for (const card of ['1234', '4111 1111 1111 1111']) {
		await payWith(customer, card);
		const error = customer.getByTestId('card-error');
		await expect(error).toHaveText("That card number doesn't look right: check the digits.");
		const text = await customer.locator('main').innerText();
		expect(text).not.toMatch(/cardNumber|must have between|not a test card/);
		expect(text.match(/doesn't look right/g)).toHaveLength(1);
	}
	// The order can still be paid for.
	await expect(customer.getByTestId('card-input')).toBeVisible();
});

test('an order that does not exist says so', async ({ app }) => {
	const customer = await app.open('/');
	await nameCustomer(customer, 'Hal');
	await customer.goto('/?order=0193f5a0-0000-7000-8000-000000000000');
	await expect(customer.getByTestId('error-alert')).toContainText("We couldn't find this order.");
});
