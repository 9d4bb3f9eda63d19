// The app's words on their own (src/lib/errors.ts, src/lib/format.ts), without a browser.
import { expect, test } from '@playwright/test';
import { friendlyError, readError, WORDING } from '../../src/lib/errors';
import { formatWhen, orderOutcome } from '../../src/lib/format';
import { ApiError } from '../../src/lib/graphql';

test('errors are worded by their code, never by the server’s text', () => {
	const invalid = new ApiError('cardNumber: must have between 12 and 19 digits', 'BAD_USER_INPUT');
	expect(friendlyError(invalid, WORDING.pay)).toBe("That card number doesn't look right: check the digits.");
	const offline = new ApiError('fetch /graphql failed', 'NETWORK_ERROR');
	expect(friendlyError(offline)).toBe("We can't reach the shop right now. We'll keep trying.");
	expect(readError(offline)).toBeNull();
	expect(friendlyError(offline, WORDING.cancel)).toBe("Your order wasn't cancelled. Please try again in a moment.");
	expect(friendlyError(new ApiError('order is ORDER_COMPLETED', 'CONFLICT'), WORDING.cancel)).toBe(
		"It's too late to cancel: your coffee has already been made."
	);
	expect(friendlyError(new Error('boom'))).toBe('Something went wrong on our side. Please try again.');
	for (const code of ['NOT_FOUND', 'BAD_USER_INPUT', 'CONFLICT', 'UNAVAILABLE', 'INTERNAL_SERVER_ERROR', 'ODD']) {
		expect(friendlyError(new ApiError('raw text from the server', code))).not.toContain('raw text');
	}
});

test('a cancelled order says why once, in the customer’s words', () => {
	const cancelled = (note: string) => ({ status: 'ORDER_CANCELLED' as const, note });
	expect(orderOutcome(cancelled('cancelled by the customer'), { status: 'PAYMENT_FAILED' })).toEqual({
		headline: 'You cancelled this order',
		detail: "You haven't been charged."
	});
	expect(orderOutcome(cancelled('cancelled by the customer'), { status: 'PAYMENT_REFUNDED' }).detail).toBe(
		'Your payment has been refunded.'
	);
	expect(orderOutcome(cancelled('payment failed: Your card was declined.'), { status: 'PAYMENT_FAILED' })).toEqual({
		headline: 'Payment not accepted',
		detail: "Your card was declined. You haven't been charged."
	});
	expect(orderOutcome(cancelled('rejected by the barista: out of milk'), { status: 'PAYMENT_REFUNDED' })).toEqual({
		headline: "Sorry, we couldn't make this one",
		detail: 'The barista said: Out of milk. Your payment has been refunded.'
	});
	expect(orderOutcome(cancelled('payment refunded: refunded at Stripe'), { status: 'PAYMENT_REFUNDED' })).toEqual({
		headline: 'The shop refunded this order',
		detail: 'Your payment has been refunded.'
	});
	expect(orderOutcome({ status: 'ORDER_COMPLETED', note: null }, null).headline).toBe('Ready to collect!');
});

test('times are hh:mm, with the date when it is another day', () => {
	const now = new Date(2026, 10, 5, 16, 0);
	expect(formatWhen(new Date(2026, 10, 5, 0, 5), now)).toBe('00:05');
	expect(formatWhen(new Date(2026, 10, 5, 14, 5), now)).toBe('14:05');
	expect(formatWhen(new Date(2026, 10, 3, 14, 5), now)).toBe('3 Nov, 14:05');
	expect(formatWhen(new Date(2025, 10, 3, 9, 0), now)).toBe('3 Nov 2025, 09:00');
});
