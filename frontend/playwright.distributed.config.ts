import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// The customer's, the barista's and the owner's flows (the shop, options, the menu), and the
// recovery after a restart, against the distributed mode: each service its own process over
// NATS JetStream and PostgreSQL, the pages talking to the gateway (tests/e2e/distributed-setup.ts).
export default defineConfig({
	...base,
	globalSetup: './tests/e2e/distributed-setup.ts',
	testMatch: [
		'paid-order.spec.ts',
		'rejected-order.spec.ts',
		'declined-card.spec.ts',
		'history.spec.ts',
		'recovery.spec.ts',
		'customer-session.spec.ts',
		'barista.spec.ts',
		'admin.spec.ts',
		'figures.spec.ts',
		'display-public.spec.ts',
		'shop.spec.ts',
		'options.spec.ts',
		'menu.spec.ts'
	],
	outputDir: '../artifacts/playwright/distributed/test-results'
});
