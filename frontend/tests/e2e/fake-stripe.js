// @ts-nocheck: served as it is to the browser in place of a third-party script, not part of the app.
// A stand-in for Stripe.js v3 (https://js.stripe.com/v3/), which cannot be loaded here (no
// internet), for the browser tests of the Stripe payment step. The test routes Stripe.js's URL to
// this file, so the page loads it from https://js.stripe.com as it would the real one (the page's
// security policy is checked for real), and routes https://api.stripe.com to the test kit's fake
// Stripe server (crates/coffee-testkit/src/bin/fake-stripe.rs).
//
// It follows the part of Stripe.js's public reference the app uses: `Stripe(publishableKey)`;
// `stripe.elements({ clientSecret })`; `elements.create('payment')` with `mount(element)`,
// `on('ready' | 'change')` (a change event has `complete` and `empty`) and `destroy()`; and
// `stripe.confirmPayment({ elements, redirect: 'if_required', confirmParams: { return_url } })`,
// which POSTs /v1/payment_intents/:id/confirm with the publishable key and the client secret, and
// resolves with `{ paymentIntent }` or `{ error }` (Stripe's error object: a declined card is a
// `card_error` with Stripe's message; a card number the form cannot use is a `validation_error`).
// The real Payment Element takes the card in Stripe's own frame; this one takes Stripe's test card
// numbers in a field of its own, and pays with the test payment method each stands for.
(() => {
	const TEST_CARDS = {
		'4242424242424242': 'pm_card_visa',
		'4000000000000002': 'pm_card_visa_chargeDeclined',
		'4000000000009995': 'pm_card_visa_chargeDeclinedInsufficientFunds'
	};
	const digits = (text) => text.replace(/\D/g, '');

	window.Stripe = (publishableKey) => {
		if (!/^pk_(test|live)_\w+$/.test(publishableKey)) {
			throw new Error(`IntegrationError: Invalid API Key provided: ${publishableKey}`);
		}
		return {
			elements({ clientSecret }) {
				if (!/^pi_\w+_secret_\w+$/.test(clientSecret ?? '')) {
					throw new Error(`IntegrationError: Invalid value for elements(): clientSecret should be a client secret`);
				}
				const elements = {
					clientSecret,
					input: null,
					create(type) {
						if (type !== 'payment') throw new Error(`IntegrationError: this stand-in makes only the payment element`);
						const handlers = { ready: [], change: [] };
						const emit = (event, value) => handlers[event].forEach((handler) => handler(value));
						let box = null;
						return {
							mount(target) {
								box = document.createElement('label');
								box.style.display = 'flex';
								box.style.flexDirection = 'column';
								box.textContent = 'Card number (Stripe)';
								const input = document.createElement('input');
								input.className = 'input w-full font-mono';
								input.inputMode = 'numeric';
								input.dataset.testid = 'stripe-card-number';
								input.addEventListener('input', () => {
									const n = digits(input.value);
									emit('change', { complete: n.length === 16, empty: n.length === 0 });
								});
								box.appendChild(input);
								target.appendChild(box);
								elements.input = input;
								setTimeout(() => emit('ready'), 0);
							},
							on(event, handler) {
								handlers[event]?.push(handler);
							},
							destroy() {
								box?.remove();
								elements.input = null;
							}
						};
					}
				};
				return elements;
			},
			async confirmPayment({ elements, redirect, confirmParams }) {
				if (redirect !== 'if_required' && !confirmParams?.return_url) {
					throw new Error('IntegrationError: confirmPayment needs confirmParams.return_url');
				}
				const method = TEST_CARDS[digits(elements.input?.value ?? '')];
				if (!method) {
					return { error: { type: 'validation_error', code: 'invalid_number', message: 'Your card number is invalid.' } };
				}
				const intent = elements.clientSecret.split('_secret_')[0];
				const body = new URLSearchParams({
					payment_method: method,
					key: publishableKey,
					client_secret: elements.clientSecret,
					return_url: confirmParams.return_url
				});
				const answer = await fetch(`https://api.stripe.com/v1/payment_intents/${intent}/confirm`, { method: 'POST', body });
				const json = await answer.json();
				return json.error ? { error: json.error } : { paymentIntent: json };
			}
		};
	};
})();
