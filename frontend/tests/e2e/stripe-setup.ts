// `coffee serve --payment-provider stripe` for the browser, paying through the test kit's fake
// Stripe API (crates/coffee-testkit/src/bin/fake-stripe.rs), which sends its signed webhooks to
// the server. The keys are made for this run. The pages load Stripe.js from js.stripe.com and call
// api.stripe.com, which stripe-payment.spec.ts routes to a stand-in (fake-stripe.js) and to the
// fake, found in FAKE_STRIPE_URL; the publishable key is in COFFEE_E2E_STRIPE_PUBLISHABLE_KEY.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { addStaff, coffeeBin, freePort, startCoffee, startFakeStripe, stopProcess, TEST_RATE_LIMIT, type Running } from './servers';

export default async function stripeSetup(): Promise<() => Promise<void>> {
	const bin = coffeeBin();
	const dataDir = mkdtempSync(path.join(tmpdir(), 'coffee-e2e-stripe-'));
	const word = () => randomBytes(12).toString('hex');
	const keys = { secretKey: `sk_test_${word()}`, publishableKey: `pk_test_${word()}`, webhookSecret: `whsec_${word()}` };
	const listen = `127.0.0.1:${await freePort()}`;
	let stripe: Running | undefined;
	let server: Running | undefined;
	const stopAll = async () => {
		await stopProcess(server);
		await stopProcess(stripe);
		rmSync(dataDir, { recursive: true, force: true });
	};
	try {
		stripe = await startFakeStripe(bin, keys, `http://${listen}/api/payment/webhook`);
		const flags = ['--payment-provider', 'stripe', '--stripe-api-base', stripe.url];
		flags.push('--stripe-secret-key', keys.secretKey, '--stripe-publishable-key', keys.publishableKey);
		flags.push('--stripe-webhook-secret', keys.webhookSecret);
		server = await startCoffee(bin, ['serve', '--data-dir', dataDir, ...TEST_RATE_LIMIT, ...flags], listen);
		addStaff(bin, ['--data-dir', dataDir]);
	} catch (error) {
		await stopAll();
		throw error;
	}
	process.env.COFFEE_URL = server.url;
	process.env.FAKE_STRIPE_URL = stripe.url;
	process.env.COFFEE_E2E_STRIPE_PUBLISHABLE_KEY = keys.publishableKey;
	return stopAll;
}
