// Stripe.js, loaded from Stripe (as Stripe requires: never bundled or hosted here) only when the
// shop takes cards through Stripe, and only the part of its API the payment step uses, typed
// from Stripe.js's reference (https://docs.stripe.com/js): `Stripe(key)`, `elements({
// clientSecret })`, `elements.create('payment')`, `mount`, `on('ready' | 'change')`, `destroy`,
// and `confirmPayment`. The page's policy allows Stripe's hosts only in that mode (see
// crates/coffee/src/page_policy.rs).

export const STRIPE_JS = 'https://js.stripe.com/v3/';

/** Stripe's error object, as `confirmPayment` resolves with it. */
export interface StripeError {
	type: string;
	code?: string;
	decline_code?: string;
	message?: string;
}

export interface PaymentElement {
	mount(target: HTMLElement): void;
	on(event: 'ready', handler: () => void): void;
	on(event: 'change', handler: (e: { complete: boolean; empty: boolean }) => void): void;
	destroy(): void;
}

export interface StripeElements {
	create(type: 'payment', options?: Record<string, unknown>): PaymentElement;
}

export interface StripeClient {
	elements(options: { clientSecret: string; appearance?: Record<string, unknown> }): StripeElements;
	confirmPayment(options: {
		elements: StripeElements;
		redirect: 'if_required';
		confirmParams: { return_url: string };
	}): Promise<{ error?: StripeError; paymentIntent?: { id: string; status: string } }>;
}

type StripeFactory = (publishableKey: string) => StripeClient;

declare global {
	interface Window {
		Stripe?: StripeFactory;
	}
}

let loading: Promise<StripeFactory> | null = null;

/** Stripe.js, loaded once; a failed load is tried again on the next call. */
export function loadStripe(): Promise<StripeFactory> {
	if (window.Stripe) return Promise.resolve(window.Stripe);
	loading ??= new Promise<StripeFactory>((resolve, reject) => {
		const script = document.createElement('script');
		script.src = STRIPE_JS;
		script.async = true;
		script.onload = () => (window.Stripe ? resolve(window.Stripe) : reject(new Error('Stripe.js loaded without Stripe')));
		script.onerror = () => {
			script.remove();
			reject(new Error('Stripe.js could not be loaded'));
		};
		document.head.appendChild(script);
	}).catch((error) => {
		loading = null;
		throw error;
	});
	return loading;
}

/**
 * What to tell the customer when Stripe refuses: Stripe writes its card and validation errors for
 * customers ("Your card was declined."); anything else is ours to word.
 */
export function stripeMessage(error: StripeError): string | null {
	return (error.type === 'card_error' || error.type === 'validation_error') && error.message ? error.message : null;
}
