// The payment step with `--payment-provider stripe` (playwright.stripe.config.ts): the page loads
// Stripe.js from https://js.stripe.com (routed to the stand-in fake-stripe.js: no internet here)
// and its Payment Element confirms at https://api.stripe.com (routed to the test kit's fake Stripe
// API), whose signed webhooks move the order on the server. Any security policy violation would be
// a console error, which fails the test.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { expectAccessible } from './axe';
import { nameCustomer, orderStatus } from './customer';
import { expect, test } from './fixtures';

const STRIPE_JS = readFileSync(path.join(import.meta.dirname, 'fake-stripe.js'), 'utf8');

/** Routes Stripe.js's URL to the stand-in, and Stripe's API to the fake Stripe. */
async function throughStripe(context: BrowserContext, { stripeJsFailsFirst = false } = {}): Promise<void> {
	const fake = process.env.FAKE_STRIPE_URL;
	if (!fake) throw new Error('FAKE_STRIPE_URL is not set: run with -c playwright.stripe.config.ts');
	let failures = stripeJsFailsFirst ? 1 : 0;
	await context.route('https://js.stripe.com/**', (route) => {
		if (failures-- > 0) return route.abort('internetdisconnected');
		return route.fulfill({ contentType: 'application/javascript; charset=utf-8', body: STRIPE_JS });
	});
	await context.route('https://api.stripe.com/**', async (route) => {
		const url = new URL(route.request().url());
		const response = await route.fetch({ url: `${fake}${url.pathname}${url.search}` });
		await route.fulfill({ response });
	});
}

/** Names the customer and orders; Stripe's form (not the simulated card form) is there to pay. */
async function orderForStripe(page: Page, name: string, coffee = 'Latte'): Promise<void> {
	await nameCustomer(page, name);
	await page.getByRole('button', { name: `Order a ${coffee}`, exact: true }).click();
	await expect(page.getByTestId('stripe-card-number')).toBeVisible();
	await expect(page.getByTestId('card-input')).toHaveCount(0);
}

async function payInStripe(page: Page, card: string): Promise<void> {
	await page.getByTestId('stripe-card-number').fill(card);
	await page.getByTestId('pay-button').click();
}

test('a customer pays in Stripe’s Payment Element, even after a reload, and the coffee is made', async ({ app }) => {
	const customer = await app.open('/', { prepare: throughStripe });
	await orderForStripe(customer, 'Sia');
	await expect(customer.getByTestId('pay-button')).toBeDisabled();
	// A reload before paying: the same intent, its form again.
	await customer.reload();
	await expect(customer.getByTestId('stripe-card-number')).toBeVisible();
	await expectAccessible(customer, 'stripe-form');
	await app.screenshot(customer, 'form');
	await payInStripe(customer, '4242 4242 4242 4242');
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_SUCCESSFUL');
	await expect(customer.getByTestId('stripe-form')).toHaveCount(0);
});

test('a declined card is said in Stripe’s words, once, and another card pays the same order', async ({ app }) => {
	// Stripe answers a decline 402, which the browser logs, as it does with the real Stripe.js.
	const customer = await app.open('/', { prepare: throughStripe, expectedConsole: /status of 402 \(Payment Required\)/ });
	await orderForStripe(customer, 'Dex');
	await payInStripe(customer, '4000 0000 0000 0002');
	await expect(customer.getByTestId('card-error')).toHaveText(
		'Your card was declined. Nothing was charged: try another card.'
	);
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_CREATED');
	// The server hears of it by Stripe's webhook: the payment still waits, saying why.
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_CREATED');
	const text = await customer.getByTestId('order-view').innerText();
	expect(text.match(/declined/gi), text).toHaveLength(1);
	await payInStripe(customer, '4242 4242 4242 4242');
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');
	await expect(customer.getByTestId('stripe-form')).toHaveCount(0);
});

test('a card number Stripe cannot use is said, and nothing is paid or cancelled', async ({ app }) => {
	const customer = await app.open('/', { prepare: throughStripe });
	await orderForStripe(customer, 'Ivo');
	await payInStripe(customer, '1234 5678 9012 3456');
	await expect(customer.getByTestId('card-error')).toHaveText('Your card number is invalid.');
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_CREATED');
	await expect(customer.getByTestId('payment-status')).toHaveAttribute('data-status', 'PAYMENT_CREATED');
	// Typing again clears it; a good card then pays.
	await payInStripe(customer, '4242 4242 4242 4242');
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');
});

test('when Stripe.js cannot be reached the form says so, and trying again loads it', async ({ app }) => {
	const customer = await app.open('/', {
		prepare: (context) => throughStripe(context, { stripeJsFailsFirst: true }),
		expectedConsole: /Failed to load resource: net::ERR_INTERNET_DISCONNECTED/
	});
	await nameCustomer(customer, 'Oli');
	await customer.getByRole('button', { name: 'Order a Latte', exact: true }).click();
	await expect(customer.getByTestId('stripe-unreachable')).toContainText("We can't reach our card payments right now.");
	await customer.getByRole('button', { name: 'Try again' }).click();
	await expect(customer.getByTestId('stripe-unreachable')).toHaveCount(0);
	await payInStripe(customer, '4242 4242 4242 4242');
	await expect(orderStatus(customer)).toHaveAttribute('data-status', 'ORDER_IN_PROGRESS');
});
