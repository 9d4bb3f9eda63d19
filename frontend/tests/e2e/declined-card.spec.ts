import { CARDS, orderCoffee, orderStatus, payWith } from './customer';
import { expect, test } from './fixtures';

test('a declined card shows why and the order is cancelled', async ({ app }) => {
	const customer = await app.open('/');
	await orderCoffee(customer, 'Bob');
	await payWith(customer, CARDS.declined);

	await expect(customer.getByTestId('payment-declined')).toContainText(/declined/i);
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_FAILED');
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_CANCELLED');
	await expect(orderStatus(customer)).toContainText('Cancelled');
	await expect(customer.getByTestId('card-input')).toHaveCount(0);
	await expect(customer.getByTestId('cancel-button')).toHaveCount(0);
	await app.screenshot(customer, 'declined');
});
