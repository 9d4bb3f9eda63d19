// The operations of docs/graphql-contract.md, typed, on top of the client in graphql.ts.
import { request, subscribe, type SubscribeOptions } from './graphql';

export interface Coffee {
	id: string;
	name: string;
	description: string;
	/** AUD cents */
	price: number;
}

export type OrderStatus = 'ORDER_CREATED' | 'ORDER_IN_PROGRESS' | 'ORDER_CANCELLED' | 'ORDER_COMPLETED';
export type PaymentStatus =
	| 'PAYMENT_PENDING'
	| 'PAYMENT_CREATED'
	| 'PAYMENT_SUCCESSFUL'
	| 'PAYMENT_FAILED'
	| 'PAYMENT_REFUNDED';
export type FulfilmentStatus = 'FULFILMENT_CREATED' | 'FULFILMENT_COMPLETED' | 'FULFILMENT_REJECTED';

export interface Order {
	id: string;
	customerId: string;
	customerName: string;
	coffee: Coffee | null;
	status: OrderStatus;
	note: string | null;
	/** seconds since epoch */
	createdAt: number;
	updatedAt: number;
	/** YYYY-MM-DD (UTC) */
	date: string;
}

export interface Payment {
	id: string;
	orderId: string;
	status: PaymentStatus;
	note: string | null;
	amount: number;
	currency: string;
	customerName: string;
	createdAt: number;
	updatedAt: number;
}

export interface Fulfilment {
	id: string;
	orderId: string;
	status: FulfilmentStatus;
	note: string | null;
	customerName: string;
	coffee: Coffee | null;
	createdAt: number;
	updatedAt: number;
}

export interface TimelineEvent {
	id: string;
	type: string;
	source: string;
	/** RFC 3339 */
	time: string;
	status: string;
	note: string | null;
	data: string;
}

const COFFEE = 'id name description price';
const ORDER = `id customerId customerName coffee { ${COFFEE} } status note createdAt updatedAt date`;
const PAYMENT = 'id orderId status note amount currency customerName createdAt updatedAt';
const FULFILMENT = `id orderId status note customerName coffee { ${COFFEE} } createdAt updatedAt`;
const EVENT = 'id type source time status note data';

/** Lists may contain nulls by the contract; the app never wants them. */
const present = <T>(list: (T | null)[] | null): T[] => (list ?? []).filter((x): x is T => x !== null);

// --- queries --------------------------------------------------------------------------------

export async function getCoffees(): Promise<Coffee[]> {
	const data = await request<{ getCoffees: (Coffee | null)[] | null }>(`{ getCoffees { ${COFFEE} } }`);
	return present(data.getCoffees);
}

export async function getOrderList(filter: { date: string } | { customerId: string }): Promise<Order[]> {
	const data = await request<{ getOrderList: (Order | null)[] | null }>(
		`query($date: String, $customerId: String) {
			getOrderList(date: $date, customerId: $customerId) { ${ORDER} }
		}`,
		filter
	);
	return present(data.getOrderList);
}

export async function getPaymentList(date: string): Promise<Payment[]> {
	const data = await request<{ getPaymentList: (Payment | null)[] | null }>(
		`query($date: String) { getPaymentList(date: $date) { ${PAYMENT} } }`,
		{ date }
	);
	return present(data.getPaymentList);
}

export async function getFulfilmentList(date: string): Promise<Fulfilment[]> {
	const data = await request<{ getFulfilmentList: (Fulfilment | null)[] | null }>(
		`query($date: String) { getFulfilmentList(date: $date) { ${FULFILMENT} } }`,
		{ date }
	);
	return present(data.getFulfilmentList);
}

/** An order with its payment, if one was made. */
export async function getOrderWithPayment(
	orderId: string
): Promise<{ order: Order | null; payment: Payment | null }> {
	const data = await request<{ getOrder: Order | null; getPaymentForOrder: Payment | null }>(
		`query($orderId: ID!) {
			getOrder(orderId: $orderId) { ${ORDER} }
			getPaymentForOrder(orderId: $orderId) { ${PAYMENT} }
		}`,
		{ orderId }
	);
	return { order: data.getOrder, payment: data.getPaymentForOrder };
}

export async function getFulfilmentQueue(): Promise<Fulfilment[]> {
	const data = await request<{ getFulfilmentQueue: Fulfilment[] }>(
		`{ getFulfilmentQueue { ${FULFILMENT} } }`
	);
	return data.getFulfilmentQueue;
}

export async function getOrderTimeline(orderId: string): Promise<TimelineEvent[]> {
	const data = await request<{ getOrderTimeline: TimelineEvent[] }>(
		`query($orderId: ID!) { getOrderTimeline(orderId: $orderId) { ${EVENT} } }`,
		{ orderId }
	);
	return data.getOrderTimeline;
}

// --- mutations ------------------------------------------------------------------------------

export async function createOrder(coffeeId: string, customerId: string, customerName: string): Promise<Order> {
	const data = await request<{ createOrder: Order }>(
		`mutation($coffeeId: ID!, $customerId: String!, $customerName: String!) {
			createOrder(coffeeId: $coffeeId, customerId: $customerId, customerName: $customerName) { ${ORDER} }
		}`,
		{ coffeeId, customerId, customerName }
	);
	return data.createOrder;
}

export async function makePayment(orderId: string): Promise<Payment> {
	const data = await request<{ makePayment: Payment }>(
		`mutation($orderId: ID!) { makePayment(orderId: $orderId) { ${PAYMENT} } }`,
		{ orderId }
	);
	return data.makePayment;
}

export async function confirmPayment(paymentId: string, cardNumber: string): Promise<Payment> {
	const data = await request<{ confirmPayment: Payment }>(
		`mutation($paymentId: ID!, $cardNumber: String!) {
			confirmPayment(paymentId: $paymentId, cardNumber: $cardNumber) { ${PAYMENT} }
		}`,
		{ paymentId, cardNumber }
	);
	return data.confirmPayment;
}

export async function cancelOrder(orderId: string): Promise<Order> {
	const data = await request<{ cancelOrder: Order }>(
		`mutation($orderId: ID!) { cancelOrder(orderId: $orderId) { ${ORDER} } }`,
		{ orderId }
	);
	return data.cancelOrder;
}

export async function completeFulfilment(fulfilmentId: string): Promise<Fulfilment> {
	const data = await request<{ completeFulfilment: Fulfilment }>(
		`mutation($fulfilmentId: ID!) { completeFulfilment(fulfilmentId: $fulfilmentId) { ${FULFILMENT} } }`,
		{ fulfilmentId }
	);
	return data.completeFulfilment;
}

export async function rejectFulfilment(fulfilmentId: string, note: string): Promise<Fulfilment> {
	const data = await request<{ rejectFulfilment: Fulfilment }>(
		`mutation($fulfilmentId: ID!, $note: String) {
			rejectFulfilment(fulfilmentId: $fulfilmentId, note: $note) { ${FULFILMENT} }
		}`,
		{ fulfilmentId, note }
	);
	return data.rejectFulfilment;
}

// --- subscriptions --------------------------------------------------------------------------

type Live<T> = Omit<SubscribeOptions<unknown>, 'next'> & { next: (value: T) => void };

/** Order changes: of one order, of one customer's orders, or (no filter) of every order. */
export function watchOrders(
	filter: { orderId: string } | { customerId: string } | Record<string, never>,
	{ next, ...options }: Live<Order>
): () => void {
	return subscribe<{ orderUpdated: Order | null }>(
		`subscription($orderId: String, $customerId: String) {
			orderUpdated(orderId: $orderId, customerId: $customerId) { ${ORDER} }
		}`,
		filter,
		{ ...options, next: (data) => data.orderUpdated && next(data.orderUpdated) }
	);
}

export function watchPayment(paymentId: string, { next, ...options }: Live<Payment>): () => void {
	return subscribe<{ paymentUpdated: Payment | null }>(
		`subscription($paymentId: String) { paymentUpdated(paymentId: $paymentId) { ${PAYMENT} } }`,
		{ paymentId },
		{ ...options, next: (data) => data.paymentUpdated && next(data.paymentUpdated) }
	);
}

/** Every fulfilment's changes. */
export function watchFulfilments({ next, ...options }: Live<Fulfilment>): () => void {
	return subscribe<{ fulfilmentUpdated: Fulfilment | null }>(
		`subscription { fulfilmentUpdated { ${FULFILMENT} } }`,
		{},
		{ ...options, next: (data) => data.fulfilmentUpdated && next(data.fulfilmentUpdated) }
	);
}
