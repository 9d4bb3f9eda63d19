import { expectAccessible } from './axe';
import { CARDS, orderCoffee, orderStatus, payWith } from './customer';
import { expect, test } from './fixtures';

test('a declined card says why once, and the order is cancelled', async ({ app }) => {
	const customer = await app.open('/');
	await orderCoffee(customer, 'Bob');
	await payWith(customer, CARDS.declined);

	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_CANCELLED');
	await expect(orderStatus(customer)).toHaveText('Payment not accepted');
	await expect(customer.getByTestId('order-detail')).toHaveText("Your card was declined. You haven't been charged.");
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_FAILED');
	await expect(customer.getByTestId('payment-status')).toHaveText('Not charged');
	await expect(customer.getByTestId('card-input')).toHaveCount(0);
	await expect(customer.getByTestId('cancel-button')).toHaveCount(0);
	// Said once: not in the headline, an alert and a badge as well.
	const text = await customer.getByTestId('order-view').innerText();
	expect(text.match(/declined/gi), text).toHaveLength(1);
	expect(text).not.toMatch(/payment failed/i);
	await expect(customer).toHaveTitle('Cancelled: Latte — Event Driven Coffee');
	await expectAccessible(customer, 'customer-declined');
	await app.screenshot(customer, 'declined');
});

test('insufficient funds is said in the provider’s words, once', async ({ app }) => {
	const customer = await app.open('/');
	await orderCoffee(customer, 'Bea');
	await payWith(customer, CARDS.insufficient);
	await expect(customer.getByTestId('order-detail')).toHaveText(
		"Your card has insufficient funds. You haven't been charged."
	);
	const text = await customer.getByTestId('order-view').innerText();
	expect(text.match(/insufficient/gi), text).toHaveLength(1);
});
