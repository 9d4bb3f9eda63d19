import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// The payment step with `--payment-provider stripe`: Stripe.js's Payment Element (a stand-in
// routed in for https://js.stripe.com) and the test kit's fake Stripe API behind the server
// (tests/e2e/stripe-setup.ts).
export default defineConfig({
	...base,
	globalSetup: './tests/e2e/stripe-setup.ts',
	testIgnore: [],
	testMatch: ['stripe-payment.spec.ts'],
	outputDir: '../artifacts/playwright/stripe/test-results'
});
