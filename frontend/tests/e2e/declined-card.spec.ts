import { expectAccessible } from './axe';
import { CARDS, orderCoffee, orderStatus, orderViewWords, payWith } from './customer';
import { expect, test } from './fixtures';

test('a declined card says why once, the order stays open, and another card pays', async ({ app }) => {
	const customer = await app.open('/');
	await orderCoffee(customer, 'Bob');
	await payWith(customer, CARDS.declined);

	await expect(customer.getByTestId('card-error')).toHaveText(
		'Your card was declined. Nothing was charged: try another card.'
	);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_CREATED');
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_CREATED');
	await expect(customer.getByTestId('payment-status')).toHaveText('Not paid yet');
	await expect(customer.getByTestId('card-input')).toBeVisible();
	// Said once: not in the headline, an alert and a badge as well.
	const text = await orderViewWords(customer);
	expect(text.match(/declined/gi), text).toHaveLength(1);
	expect(text).not.toMatch(/payment failed|cancelled/i);
	await expect(customer).toHaveTitle('Pay now: Latte — Event Driven Coffee');
	await expectAccessible(customer, 'customer-declined');
	await app.screenshot(customer, 'declined');

	// A reload still says why the last card was refused.
	await customer.reload();
	await expect(customer.getByTestId('card-error')).toContainText('Your card was declined.');

	await payWith(customer, CARDS.good);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_SUCCESSFUL');
	await expect(customer.getByTestId('card-error')).toHaveCount(0);
	expect(await orderViewWords(customer)).not.toMatch(/declined/i);
});

test('insufficient funds is said in the provider’s words, once', async ({ app }) => {
	const customer = await app.open('/');
	await orderCoffee(customer, 'Bea');
	await payWith(customer, CARDS.insufficient);
	await expect(customer.getByTestId('card-error')).toHaveText(
		'Your card has insufficient funds. Nothing was charged: try another card.'
	);
	const text = await orderViewWords(customer);
	expect(text.match(/insufficient/gi), text).toHaveLength(1);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_CREATED');
});
