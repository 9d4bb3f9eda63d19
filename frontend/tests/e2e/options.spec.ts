// Drink options: the customer picks a large oat latte with an extra shot, sees its price before
// and after ordering, pays that price, and the barista's card says how to make it.
import { expectAccessible } from './axe';
import { CARDS, nameCustomer, payWith } from './customer';
import { expect, test } from './fixtures';
import { completeOrder, firstCoffee, orderNumberOf, paidOrder } from './seed';

test('a customer orders a large oat latte and sees the right price and number; a barista claims and makes it', async ({
	app,
	staff,
	request
}) => {
	const customer = await app.open('/');
	await nameCustomer(customer, 'Lola');
	const latte = customer.locator('[data-testid="coffee-item"]', { hasText: 'Latte' });
	await expect(latte.getByTestId('coffee-price')).toHaveText('A$4.00');
	await latte.getByLabel('Size').selectOption('large');
	await latte.getByLabel('Milk').selectOption('oat');
	await latte.getByLabel('Extra shots').selectOption('1');
	// 4.00 + 0.70 (large) + 0.60 (oat) + 0.50 (a shot), as the menu prices them.
	await expect(latte.getByTestId('coffee-price')).toHaveText('A$5.80');
	await expectAccessible(customer, 'menu-options');
	await customer.getByRole('button', { name: 'Order a Latte', exact: true }).click();

	const view = customer.getByTestId('order-view');
	await expect(view.getByTestId('order-options')).toHaveText('Large, oat milk, 1 extra shot · A$5.80');
	await expect(customer.getByRole('heading', { name: 'Pay A$5.80' })).toBeVisible();
	const orderId = (await view.getAttribute('data-order-id'))!;
	await payWith(customer, CARDS.good);
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_SUCCESSFUL');
	const number = await orderNumberOf(request, orderId);
	await expect(view.getByTestId('order-number')).toHaveText(`#${number}`);
	// The number is what the barista calls out: big enough to read at arm's length.
	const size = await view.getByTestId('order-number').evaluate((n) => parseFloat(getComputedStyle(n).fontSize));
	expect(size).toBeGreaterThanOrEqual(24);
	await app.screenshot(customer, '1-large-oat-latte');

	const barista = await app.open('/barista', { as: staff.barista });
	const card = barista.locator(`[data-testid="fulfilment-card"][data-order-id="${orderId}"]`);
	await expect(card.getByTestId('fulfilment-options')).toHaveText('Large, oat milk, 1 extra shot');
	await expect(card.getByTestId('order-number')).toHaveText(`#${number}`);

	// The barista claims it; another member of staff's queue shows it taken, live.
	const other = await app.open('/barista', { as: staff.admin });
	const theirCard = other.locator(`[data-testid="fulfilment-card"][data-order-id="${orderId}"]`);
	await expect(theirCard.getByTestId('claim-button')).toBeVisible();
	await card.getByTestId('claim-button').click();
	await expect(card.getByTestId('claimed-by')).toHaveText("You're making it");
	await expect(theirCard.getByTestId('claimed-by')).toHaveText(`${staff.barista.name} is making it`);
	await expectAccessible(barista, 'barista-claimed');

	// Made: the customer's page ends with a receipt of what was ordered and paid.
	await card.getByTestId('complete-button').click();
	const receipt = customer.getByTestId('receipt');
	await expect(receipt).toContainText(`Receipt for order #${number}`);
	await expect(receipt.getByTestId('receipt-drink')).toHaveText('Latte');
	await expect(receipt.getByTestId('receipt-options')).toHaveText('Large, oat milk, 1 extra shot');
	await expect(receipt.getByTestId('receipt-amount')).toHaveText('A$5.80');
	await expect(receipt.getByTestId('receipt-payment')).toHaveText('Paid');
	await expect(customer.getByTestId('ready-banner')).toHaveText(
		`Your Latte is ready! Collect order #${number} at the counter.`
	);
	await expectAccessible(customer, 'receipt');
});

test('a paid customer sees the estimated wait, from the drinks made in the last hour', async ({ app, request }) => {
	// One drink made just now: the shop has a median to go by.
	const coffee = await firstCoffee(request);
	await completeOrder(request, await paidOrder(request, 'Early Bird', coffee.id));

	const customer = await app.open('/');
	await nameCustomer(customer, 'Wren');
	await customer.getByRole('button', { name: 'Order a Latte', exact: true }).click();
	await payWith(customer, CARDS.good);
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_SUCCESSFUL');
	await expect(customer.getByTestId('order-wait')).toHaveText(/^About \d+ min from payment to pickup$/);
	await expect(customer.getByTestId('notify-button')).toBeVisible();
	// Made, so that later tests' boards are not crowded with it.
	await completeOrder(request, (await customer.getByTestId('order-view').getAttribute('data-order-id'))!);
});
