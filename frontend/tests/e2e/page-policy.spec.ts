// With the simulated provider (the default), nothing of Stripe's may load: the server's header
// policy takes away what the pages' own policy allows for Stripe (crates/coffee/src/page_policy.rs).
// stripe-payment.spec.ts shows the other side: with Stripe, Stripe.js loads and pays.
import { expect, test } from './fixtures';

test('with the simulated provider a page cannot load Stripe.js', async ({ app }) => {
	let fetched = false;
	const page = await app.open('/', {
		// Refused by the header's policy (the page's own allows Stripe's hosts).
		expectedConsole: /Loading the script 'https:\/\/js\.stripe\.com\/v3\/' violates .*"script-src 'self' 'unsafe-inline'"/,
		prepare: async (context) => {
			await context.route('https://js.stripe.com/**', (route) => {
				fetched = true;
				return route.fulfill({ contentType: 'application/javascript', body: 'window.Stripe = () => ({});' });
			});
		}
	});
	const outcome = await page.evaluate(
		() =>
			new Promise<string>((resolve) => {
				document.addEventListener('securitypolicyviolation', (e) => resolve(`refused ${e.blockedURI}`), { once: true });
				const script = document.createElement('script');
				script.src = 'https://js.stripe.com/v3/';
				script.onload = () => resolve('loaded');
				document.head.appendChild(script);
			})
	);
	expect(outcome).toBe('refused https://js.stripe.com/v3/');
	expect(fetched, 'the browser never asked for it').toBe(false);
	await expect(page.getByTestId('customer-name-input')).toBeVisible();
});
