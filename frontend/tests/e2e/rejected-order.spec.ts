import { CARDS, orderCoffee, orderStatus, payWith } from './customer';
import { expect, test } from './fixtures';

test('a rejected order is cancelled with the barista’s note and refunded', async ({ app, staff }) => {
	const customer = await app.open('/');
	const barista = await app.open('/barista', { as: staff.barista });
	const orderId = await orderCoffee(customer, 'Carol');
	await payWith(customer, CARDS.good);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');

	const card = barista.locator(`[data-testid="fulfilment-card"][data-order-id="${orderId}"]`);
	await card.getByTestId('reject-button').click();
	await card.getByTestId('reject-note').fill('Out of oat milk');
	await app.screenshot(barista, '1-rejecting');
	await card.getByTestId('reject-confirm').click();
	await expect(card).toHaveCount(0);

	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_CANCELLED');
	await expect(orderStatus(customer)).toHaveText("Sorry, we couldn't make this one");
	await expect(customer.getByTestId('order-detail')).toHaveText(
		'The barista said: Out of oat milk. Your payment has been refunded.'
	);
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_REFUNDED');
	// The receipt says the money went back.
	await expect(customer.getByTestId('receipt-payment')).toHaveText('Refunded in full');
	await expect(customer.getByTestId('receipt-amount')).toHaveText('A$4.00');
	await app.screenshot(customer, '2-cancelled');
});
