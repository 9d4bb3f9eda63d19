// How the app shows money, ids, times and statuses to people.
import type { FulfilmentStatus, Order, Payment, PaymentStatus } from './api';

const aud = new Intl.NumberFormat('en-AU', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** 400 -> "A$4.00" */
export const formatPrice = (cents: number): string => `A$${aud.format(cents / 100)}`;

/** 420 -> "4.20", -50 -> "-0.50": an amount as the owner types it in a form. */
export const centsToInput = (cents: number): string => `${cents < 0 ? '-' : ''}${(Math.abs(cents) / 100).toFixed(2)}`;

/**
 * "4.20", "4", "$4.2" or "A$4.20" -> 420; with `signed`, "-0.50" -> -50. Null when it is not an
 * amount in dollars and cents (the server still judges the limits).
 */
export function parseCents(text: string, { signed = false } = {}): number | null {
	const match = /^\s*([-−])?\s*(?:A?\$)?\s*(\d{1,6})(?:\.(\d{1,2}))?\s*$/.exec(text);
	if (!match || (match[1] && !signed)) return null;
	const cents = Number(match[2]) * 100 + Number((match[3] ?? '0').padEnd(2, '0'));
	return match[1] ? -cents : cents;
}

/**
 * The number a customer hears called out: the day's order number (1, 2, 3…). An order placed
 * before numbers existed has none; it is called by the last 6 hex digits of its id, uppercase
 * (order ids are UUIDv7, whose first digits are a timestamp shared by orders placed together).
 */
export const callNumber = (record: { orderNumber?: number | null }, orderId: string): string =>
	record.orderNumber != null ? String(record.orderNumber) : orderId.replace(/[^0-9a-f]/gi, '').slice(-6).toUpperCase();

/** Today's date in UTC as YYYY-MM-DD, the server's notion of "a day". */
export const todayUtc = (): string => new Date().toISOString().slice(0, 10);

/** "just now", "3 min", "1 h 5 min" since `seconds` (epoch). */
export function age(seconds: number, nowMs: number): string {
	const minutes = Math.max(0, Math.floor((nowMs / 1000 - seconds) / 60));
	if (minutes < 1) return 'just now';
	if (minutes < 60) return `${minutes} min`;
	return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A length of time: "45 s", "3 min 20 s", "3 min", "1 h 5 min"; "—" for none (null). */
export function formatDuration(seconds: number | null): string {
	if (seconds === null) return '—';
	const s = Math.max(0, Math.round(seconds));
	if (s < 60) return `${s} s`;
	if (s < 3600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
	// Past an hour the seconds are noise.
	const minutes = Math.round(s / 60);
	return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "14:05", in the viewer's time zone. */
export const formatClock = (date: Date): string =>
	date.toLocaleTimeString('en-AU', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

const sameDay = (a: Date, b: Date) => a.toDateString() === b.toDateString();

/** "14:05" today, "3 Nov, 14:05" on another day (in the viewer's time zone). */
export function formatWhen(date: Date, now: Date = new Date()): string {
	if (sameDay(date, now)) return formatClock(date);
	const day = date.toLocaleDateString('en-AU', {
		day: 'numeric',
		month: 'short',
		year: date.getFullYear() === now.getFullYear() ? undefined : 'numeric'
	});
	return `${day}, ${formatClock(date)}`;
}

export const formatEpoch = (seconds: number): string => formatWhen(new Date(seconds * 1000));

/** An event's data (a JSON object) as key/value pairs, values as text; null if it is not an object. */
export function dataEntries(json: string): { key: string; value: string; block: boolean }[] | null {
	let data: unknown;
	try {
		data = JSON.parse(json);
	} catch {
		return null;
	}
	if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
	return Object.entries(data).map(([key, value]) => {
		const block = value !== null && typeof value === 'object';
		// Times in the snapshots are epoch milliseconds (or seconds): say when, keep the number.
		if (/At$/.test(key) && typeof value === 'number' && value > 0) {
			const ms = value > 1e11 ? value : value * 1000;
			return { key, value: `${formatWhen(new Date(ms))} (${value})`, block };
		}
		return { key, value: block ? JSON.stringify(value, null, 2) : String(value), block };
	});
}

/** The data as indented JSON, or as it came when it is not JSON. */
export function prettyJson(json: string): string {
	try {
		return JSON.stringify(JSON.parse(json), null, 2);
	} catch {
		return json;
	}
}

// Why an order was cancelled, as the server's notes say (coffee-domain's order.rs writes them).
const CUSTOMER_CANCELLED = 'cancelled by the customer';
const NOT_PAID_IN_TIME = 'not paid in time';
const PAYMENT_FAILED = /^payment failed(?::\s*(.*))?$/i;
const REJECTED = /^rejected by the barista(?::\s*(.*))?$/i;
const REFUNDED = /^payment refunded\b/i;

export type CancelReason =
	| { by: 'customer' }
	| { by: 'time' }
	| { by: 'payment'; why: string | null }
	| { by: 'shop'; why: string | null }
	| { by: 'refund' }
	| { by: 'unknown'; why: string | null };

export function cancelReason(note: string | null): CancelReason {
	const text = note?.trim() ?? '';
	if (text.toLowerCase() === CUSTOMER_CANCELLED) return { by: 'customer' };
	if (text.toLowerCase() === NOT_PAID_IN_TIME) return { by: 'time' };
	const failed = PAYMENT_FAILED.exec(text);
	if (failed) return { by: 'payment', why: failed[1] || null };
	const rejected = REJECTED.exec(text);
	if (rejected) return { by: 'shop', why: rejected[1] || null };
	if (REFUNDED.test(text)) return { by: 'refund' };
	return { by: 'unknown', why: text || null };
}

/** The short status of an order, as a customer reads it (lists, badges, the tab's title). */
export function orderStatusLabel(order: Pick<Order, 'status' | 'note'>): string {
	switch (order.status) {
		case 'ORDER_CREATED':
			return 'Waiting for payment';
		case 'ORDER_IN_PROGRESS':
			return 'Being made';
		case 'ORDER_COMPLETED':
			return 'Ready to collect';
		case 'ORDER_CANCELLED':
			switch (cancelReason(order.note).by) {
				case 'customer':
					return 'You cancelled';
				case 'payment':
					return 'Not paid';
				case 'time':
					return 'Not paid in time';
				case 'refund':
					return 'Refunded';
				default:
					return 'Cancelled';
			}
	}
}

/** The order's status as staff read it (the admin's tables); the note says why it was cancelled. */
export function staffOrderStatusLabel(order: Pick<Order, 'status'>): string {
	return {
		ORDER_CREATED: 'Awaiting payment',
		ORDER_IN_PROGRESS: 'In progress',
		ORDER_COMPLETED: 'Completed',
		ORDER_CANCELLED: 'Cancelled'
	}[order.status];
}

/** The word for the tab's title: short, as a tab shows only a few letters. */
export function orderTabWord(order: Pick<Order, 'status'>): string {
	return {
		ORDER_CREATED: 'Pay now',
		ORDER_IN_PROGRESS: 'Being made',
		ORDER_COMPLETED: 'Ready',
		ORDER_CANCELLED: 'Cancelled'
	}[order.status];
}

/**
 * What the order page says about an order: a headline and, for a cancelled order, one line on why
 * and what happened to the money. Each fact is said once (no "Payment failed" beside a
 * "Cancelled: payment failed" beside a "Failed" badge).
 */
export function orderOutcome(
	order: Pick<Order, 'status' | 'note'>,
	payment: Pick<Payment, 'status'> | null
): { headline: string; detail: string | null } {
	if (order.status !== 'ORDER_CANCELLED') return { headline: orderStatusLabel(order) + (order.status === 'ORDER_COMPLETED' ? '!' : ''), detail: null };
	const refunded = payment?.status === 'PAYMENT_REFUNDED';
	const money = refunded ? 'Your payment has been refunded.' : "You haven't been charged.";
	const reason = cancelReason(order.note);
	switch (reason.by) {
		case 'customer':
			return { headline: 'You cancelled this order', detail: money };
		case 'time':
			return {
				headline: 'Not paid in time',
				detail: `We hold an order for a while for its payment, then let it go. ${money}`
			};
		case 'payment':
			return {
				headline: 'Payment not accepted',
				detail: `${sentence(reason.why ?? 'The card was not accepted.')} ${money}`
			};
		case 'shop':
			return {
				headline: "Sorry, we couldn't make this one",
				detail: reason.why ? `The barista said: ${sentence(reason.why)} ${money}` : money
			};
		case 'refund':
			return { headline: 'The shop refunded this order', detail: 'Your payment has been refunded.' };
		case 'unknown':
			return { headline: 'This order was cancelled', detail: reason.why ? `${sentence(reason.why)} ${money}` : money };
	}
}

/** A declined card, in the provider's words, and what the customer can do about it. */
export function declinedWords(reason: string): string {
	return `${sentence(reason)} Nothing was charged: try another card.`;
}

/** "out of milk" -> "Out of milk." */
function sentence(text: string): string {
	const t = text.trim();
	const capital = t.charAt(0).toUpperCase() + t.slice(1);
	return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

const paymentLabels: Record<PaymentStatus, string> = {
	PAYMENT_PENDING: 'Pending',
	PAYMENT_CREATED: 'Awaiting card',
	PAYMENT_SUCCESSFUL: 'Paid',
	PAYMENT_FAILED: 'Failed',
	PAYMENT_REFUNDED: 'Refunded'
};
export const paymentStatusLabel = (status: PaymentStatus): string => paymentLabels[status];

/** The payment's status in the customer's words: a failed payment took no money. */
const customerPaymentLabels: Record<PaymentStatus, string> = {
	...paymentLabels,
	PAYMENT_PENDING: 'Not paid yet',
	PAYMENT_CREATED: 'Not paid yet',
	PAYMENT_FAILED: 'Not charged'
};
export const customerPaymentLabel = (status: PaymentStatus): string => customerPaymentLabels[status];

const fulfilmentLabels: Record<FulfilmentStatus, string> = {
	FULFILMENT_CREATED: 'To make',
	FULFILMENT_COMPLETED: 'Made',
	FULFILMENT_REJECTED: 'Rejected'
};
export const fulfilmentStatusLabel = (status: FulfilmentStatus): string => fulfilmentLabels[status];

/** daisyUI badge colour for any status string of the contract. */
export function statusTone(status: string): string {
	if (/COMPLETED|SUCCESSFUL/.test(status)) return 'badge-success';
	if (/CANCELLED|FAILED|REJECTED/.test(status)) return 'badge-error';
	if (/REFUNDED/.test(status)) return 'badge-warning';
	if (/IN_PROGRESS/.test(status)) return 'badge-info';
	return 'badge-neutral';
}
