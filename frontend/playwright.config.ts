import { defineConfig } from '@playwright/test';

// Browser tests against the real `coffee` server (see tests/e2e/global-setup.ts), in Debian's
// Chromium: Playwright's own browser downloads are not available here.
export default defineConfig({
	testDir: 'tests/e2e',
	globalSetup: './tests/e2e/global-setup.ts',
	// Against `--payment-provider stripe`: playwright.stripe.config.ts.
	testIgnore: ['stripe-payment.spec.ts'],
	// One server, two cores: run the tests one after another.
	workers: 1,
	fullyParallel: false,
	// A focused test (test.only) left in by mistake fails the run, on every machine.
	forbidOnly: true,
	timeout: 60_000,
	expect: { timeout: 15_000 },
	reporter: 'list',
	outputDir: '../artifacts/playwright/test-results',
	use: {
		browserName: 'chromium',
		headless: true,
		launchOptions: {
			executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
			args: [
				'--headless',
				'--no-sandbox',
				'--disable-gpu',
				'--disable-quic',
				'--no-first-run',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync'
			]
		},
		screenshot: 'only-on-failure',
		trace: 'retain-on-failure'
	}
});
