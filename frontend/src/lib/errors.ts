// What a person reads when something goes wrong: chosen by the error's code (the server's
// `extensions.code`, or NETWORK_ERROR when the server could not be reached), never the server's
// own text, which is written for developers ("cardNumber: must have between 12 and 19 digits").
import { ApiError } from './graphql';

export type ErrorCode =
	| 'NETWORK_ERROR'
	| 'UNAVAILABLE'
	| 'NOT_FOUND'
	| 'BAD_USER_INPUT'
	| 'CONFLICT'
	| 'UNAUTHENTICATED'
	| 'FORBIDDEN'
	| 'TOO_MANY_REQUESTS'
	| 'TOO_MANY_OPEN_ORDERS'
	| 'SHOP_CLOSED'
	| 'SHOP_AT_CAPACITY'
	| 'SOLD_OUT'
	| 'INTERNAL_SERVER_ERROR';

/** Words for a code in one situation; the defaults below cover the rest. */
export type Wording = Partial<Record<ErrorCode, string>>;

export const OFFLINE = "We can't reach the shop right now. We'll keep trying.";

/** For reads, which the app retries by itself once the shop is back. */
const defaults: Record<ErrorCode, string> = {
	NETWORK_ERROR: OFFLINE,
	UNAVAILABLE: "The shop is busy for a moment. We'll keep trying.",
	NOT_FOUND: "We couldn't find that.",
	BAD_USER_INPUT: "Something in that doesn't look right. Please check it and try again.",
	CONFLICT: 'That has just changed. You are seeing the latest now.',
	// Seldom seen: the pages go back to the name or login form when a session has ended.
	UNAUTHENTICATED: 'Please sign in again.',
	FORBIDDEN: "You can't do that with this account.",
	TOO_MANY_REQUESTS: 'That was a lot at once. Please wait a moment and try again.',
	TOO_MANY_OPEN_ORDERS: 'You have orders waiting to be paid. Pay for or cancel one before ordering again.',
	SHOP_CLOSED: "Sorry, we've just closed.",
	SHOP_AT_CAPACITY: "We're busy right now. Please try again in a few minutes.",
	SOLD_OUT: "Sorry, that one has just sold out. Please pick another.",
	INTERNAL_SERVER_ERROR: 'Something went wrong on our side. Please try again.'
};

/**
 * For actions (order, pay, cancel, …), which the app never repeats by itself. That the shop is
 * out of reach is said once, by the page's connection notice; the action says what did not happen.
 */
const notSent = (what: string): Wording => ({
	NETWORK_ERROR: `${what} Please try again in a moment.`,
	UNAVAILABLE: `${what} The shop is busy: please try again in a moment.`
});

/** The words of each situation the app shows an error in. */
export const WORDING = {
	menu: {},
	order: { NOT_FOUND: "We couldn't find this order." },
	orders: {},
	createOrder: {
		...notSent("Your order wasn't sent."),
		NOT_FOUND: 'That coffee is no longer on the menu.',
		BAD_USER_INPUT: "We couldn't take that order. Please check your name and try again."
	},
	pay: {
		...notSent("Your payment wasn't sent."),
		BAD_USER_INPUT: "That card number doesn't look right: check the digits.",
		CONFLICT: 'This order can no longer be paid for.'
	},
	cancel: { ...notSent("Your order wasn't cancelled."), CONFLICT: "It's too late to cancel: your coffee has already been made." },
	fulfilment: { ...notSent("That wasn't sent."), CONFLICT: 'This order has already changed: it was cancelled or made.' },
	staff: {},
	menuChange: {
		...notSent("The menu wasn't changed."),
		BAD_USER_INPUT:
			'Check the drink: a name of up to 60 characters, a price from A$0.01 to A$100, each size and milk once, each difference within A$10, and at most 3 extra shots.',
		NOT_FOUND: 'That drink is no longer on the menu.'
	},
	shop: { ...notSent("The shop's settings weren't saved."), BAD_USER_INPUT: 'Check the numbers: at most 10,000 open orders, and a message of at most 200 characters.' },
	/** The customer gives their name. */
	startSession: {
		...notSent("We couldn't start your order."),
		BAD_USER_INPUT: "We couldn't use that name. Please check it and try again."
	},
	signOut: notSent("You're still signed in.")
} satisfies Record<string, Wording>;

const isCode = (code: string): code is ErrorCode => code in defaults;

/** The message for anything a request threw, in the words of `wording`. */
export function friendlyError(error: unknown, wording: Wording = {}): string {
	const code = error instanceof ApiError && isCode(error.code) ? error.code : 'INTERNAL_SERVER_ERROR';
	return wording[code] ?? defaults[code];
}

/** Whether the app will try again by itself (the shop was out of reach or busy). */
export const isOutage = (error: unknown): boolean =>
	error instanceof ApiError && (error.code === 'NETWORK_ERROR' || error.code === 'UNAVAILABLE');

/**
 * The message for a failed read, or null when the shop was out of reach: the page's connection
 * notice says that once, and the read is made again when the shop is back.
 */
export const readError = (error: unknown, wording: Wording = {}): string | null =>
	isOutage(error) ? null : friendlyError(error, wording);
