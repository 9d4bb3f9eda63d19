// How the app shows money, ids, times and statuses to people.
import type { FulfilmentStatus, Order, PaymentStatus } from './api';

const aud = new Intl.NumberFormat('en-AU', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** 400 -> "A$4.00" */
export const formatPrice = (cents: number): string => `A$${aud.format(cents / 100)}`;

/**
 * The number a customer hears called out: the last 6 hex digits of the order id, uppercase.
 * Order ids are UUIDv7, whose first digits are a timestamp (orders placed close together share
 * them); the last digits are random.
 */
export const shortOrderNumber = (orderId: string): string =>
	orderId.replace(/[^0-9a-f]/gi, '').slice(-6).toUpperCase();

/** Today's date in UTC as YYYY-MM-DD, the server's notion of "a day". */
export const todayUtc = (): string => new Date().toISOString().slice(0, 10);

/** "just now", "3 min", "1 h 5 min" since `seconds` (epoch). */
export function age(seconds: number, nowMs: number): string {
	const minutes = Math.max(0, Math.floor((nowMs / 1000 - seconds) / 60));
	if (minutes < 1) return 'just now';
	if (minutes < 60) return `${minutes} min`;
	return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export const formatTime = (date: Date): string =>
	date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const formatEpoch = (seconds: number): string => formatTime(new Date(seconds * 1000));

export function orderStatusLabel(order: Pick<Order, 'status' | 'note'>): string {
	switch (order.status) {
		case 'ORDER_CREATED':
			return 'Waiting for payment';
		case 'ORDER_IN_PROGRESS':
			return 'Being made';
		case 'ORDER_COMPLETED':
			return 'Ready to collect!';
		case 'ORDER_CANCELLED':
			return order.note ? `Cancelled: ${order.note}` : 'Cancelled';
	}
}

const paymentLabels: Record<PaymentStatus, string> = {
	PAYMENT_PENDING: 'Pending',
	PAYMENT_CREATED: 'Awaiting card',
	PAYMENT_SUCCESSFUL: 'Paid',
	PAYMENT_FAILED: 'Failed',
	PAYMENT_REFUNDED: 'Refunded'
};
export const paymentStatusLabel = (status: PaymentStatus): string => paymentLabels[status];

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
