// The operations of docs/graphql-contract.md, typed, on top of the client in graphql.ts.
import { request, subscribe, type SubscribeOptions } from './graphql';

// The record types are picked from schema.generated.ts (generated from ../schema.graphql), with
// the fields each selection below asks for: the field lists are the selections, so a field the
// schema drops or renames is a type error here.
import type * as Schema from './schema.generated';

export type OrderStatus = Schema.OrderDetailStatus;
export type PaymentStatus = Schema.PaymentDetailStatus;
export type FulfilmentStatus = Schema.FulfilmentDetailStatus;

type Fields<T> = readonly (keyof T)[];
const select = (fields: readonly string[], nested = '') => `${fields.join(' ')}${nested}`;

const COFFEE_FIELDS = ['id', 'name', 'description', 'price'] as const satisfies Fields<Schema.Coffee>;
const ORDER_FIELDS = [
	'id',
	'customerId',
	'customerName',
	'orderNumber',
	'price',
	'status',
	'note',
	'createdAt',
	'updatedAt',
	'date'
] as const satisfies Fields<Schema.OrderDetail>;
const CHOSEN_FIELDS = ['size', 'milk', 'extraShots'] as const satisfies Fields<Schema.ChosenOptions>;
const PAYMENT_FIELDS = [
	'id',
	'orderId',
	'status',
	'note',
	'amount',
	'currency',
	'customerName',
	'orderNumber',
	'createdAt',
	'updatedAt'
] as const satisfies Fields<Schema.PaymentDetail>;
const FULFILMENT_FIELDS = [
	'id',
	'orderId',
	'status',
	'note',
	'customerName',
	'orderNumber',
	'baristaName',
	'claimedAt',
	'createdAt',
	'updatedAt'
] as const satisfies Fields<Schema.FulfilmentDetail>;
const PICKUP_FIELDS = ['number', 'name', 'status', 'createdAt', 'updatedAt'] as const satisfies Fields<Schema.PickupOrder>;
const SHOP_FIELDS = [
	'open',
	'capacity',
	'queueLength',
	'estimatedWaitSeconds',
	'message',
	'slowOrderAfterSeconds',
	'pickupBoardSeconds',
	'unpaidOrderTimeoutSeconds'
] as const satisfies Fields<Schema.Shop>;
const EVENT_FIELDS = [
	'id',
	'type',
	'source',
	'time',
	'status',
	'note',
	'data'
] as const satisfies Fields<Schema.TimelineEvent>;
const DAY_FIGURES_FIELDS = [
	'date',
	'orders',
	'completed',
	'inProgress',
	'unpaid',
	'cancelled',
	'revenue',
	'refunded',
	'inProgressAmount',
	'medianReadySeconds',
	'p90ReadySeconds',
	'ordersPerHour',
	'complete'
] as const satisfies Fields<Schema.DayFigures>;
const DRINK_FIGURES_FIELDS = [
	'coffeeId',
	'name',
	'orders',
	'completed',
	'revenue'
] as const satisfies Fields<Schema.DrinkFigures>;
const CANCELLATIONS_FIELDS = [
	'byCustomer',
	'notPaidInTime',
	'paymentFailed',
	'rejectedByBarista',
	'other'
] as const satisfies Fields<Schema.Cancellations>;

/** A coffee; `price` in AUD cents. */
export type Coffee = Pick<Schema.Coffee, (typeof COFFEE_FIELDS)[number]>;
/** A coffee on the menu, with its options and what each adds to the price, and whether it is sold out. */
export type MenuCoffee = Coffee & { options: Schema.MenuOptions; available: boolean };
/** Size, milk and extra shots, as chosen. */
export type ChosenOptions = Schema.ChosenOptions;
/** An order; times in seconds since the epoch, `date` YYYY-MM-DD (UTC); `price` with its options. */
export type Order = Pick<Schema.OrderDetail, (typeof ORDER_FIELDS)[number]> & {
	coffee: Coffee | null;
	options: ChosenOptions | null;
};
export type Payment = Pick<Schema.PaymentDetail, (typeof PAYMENT_FIELDS)[number]> & { options: ChosenOptions | null };
export type Fulfilment = Pick<Schema.FulfilmentDetail, (typeof FULFILMENT_FIELDS)[number]> & {
	coffee: Coffee | null;
	options: ChosenOptions | null;
};
/** An order as the pickup board shows it, to anyone: its number and the customer's first name. */
export type PickupOrder = Pick<Schema.PickupOrder, (typeof PICKUP_FIELDS)[number]>;
/** The shop as anyone sees it: open or not, the queue against its capacity, the wait, its message. */
export type Shop = Pick<Schema.Shop, (typeof SHOP_FIELDS)[number]>;
/** `time` is RFC 3339; `data` the entity's JSON snapshot. */
export type TimelineEvent = Pick<Schema.TimelineEvent, (typeof EVENT_FIELDS)[number]>;
/** One drink's line of the day's figures; `revenue` in cents. */
export type DrinkFigures = Pick<Schema.DrinkFigures, (typeof DRINK_FIGURES_FIELDS)[number]>;
/** How many of the day's orders were cancelled, for each reason. */
export type Cancellations = Pick<Schema.Cancellations, (typeof CANCELLATIONS_FIELDS)[number]>;
/** A day's figures for the owner: money in cents, times in seconds, 24 hours (UTC) of orders. */
export type DayFigures = Pick<Schema.DayFigures, (typeof DAY_FIGURES_FIELDS)[number]> & {
	byDrink: DrinkFigures[];
	cancellations: Cancellations;
};
// The owner reads every figure: a field the schema adds to any of the three is a type error here
// until it is asked for (the lists above catch only the ones dropped or renamed).
type Unasked<T, U> = Exclude<keyof T, keyof U>;
type None<T extends never> = T;
type EveryFigureAsked = None<
	| Unasked<Schema.DayFigures, DayFigures>
	| Unasked<Schema.DrinkFigures, DrinkFigures>
	| Unasked<Schema.Cancellations, Cancellations>
>;

const COFFEE = select(COFFEE_FIELDS);
const CHOSEN = `options { ${select(CHOSEN_FIELDS)} }`;
const MENU = `${COFFEE} available options { size { value priceDelta } milk { value priceDelta } extraShot maxExtraShots }`;
const ORDER = select(ORDER_FIELDS, ` coffee { ${COFFEE} } ${CHOSEN}`);
const PAYMENT = select(PAYMENT_FIELDS, ` ${CHOSEN}`);
const FULFILMENT = select(FULFILMENT_FIELDS, ` coffee { ${COFFEE} } ${CHOSEN}`);
const EVENT = select(EVENT_FIELDS);
const PICKUP = select(PICKUP_FIELDS);
const SHOP = select(SHOP_FIELDS);
const DAY_FIGURES = select(
	DAY_FIGURES_FIELDS,
	` byDrink { ${select(DRINK_FIGURES_FIELDS)} } cancellations { ${select(CANCELLATIONS_FIELDS)} }`
);

/** Lists may contain nulls by the contract; the app never wants them. */
const present = <T>(list: (T | null)[] | null): T[] => (list ?? []).filter((x): x is T => x !== null);

// --- queries --------------------------------------------------------------------------------

/** The menu, each drink with its options. */
export async function getCoffees(): Promise<MenuCoffee[]> {
	const data = await request<{ getCoffees: (MenuCoffee | null)[] | null }>(`{ getCoffees { ${MENU} } }`);
	return present(data.getCoffees);
}

/** A page of a list: `limit` (the server's 500 when left out) after skipping `offset`. */
export type Page = { limit?: number; offset?: number };

/** How many a page of a whole day holds, and how many pages are read at most (a day of up to
 * 20,000 records), so a day that outgrows the lists' page is still shown whole. */
export const DAY_PAGE = 500;
const MAX_PAGES = 40;

/** Every page of a list, newest page first, until a page comes back short. A record made
 * between two reads pushes the older ones along by one, so one may come twice: each is kept once. */
export async function everyPage<T extends { id: string }>(page: (p: Required<Page>) => Promise<T[]>): Promise<T[]> {
	const all = new Map<string, T>();
	for (let n = 0; n < MAX_PAGES; n++) {
		const items = await page({ limit: DAY_PAGE, offset: n * DAY_PAGE });
		for (const item of items) all.set(item.id, item);
		if (items.length < DAY_PAGE) break;
	}
	return [...all.values()];
}

export async function getOrderList(
	filter: Schema.QueryGetOrderListArgs & ({ date: string } | { customerId: string })
): Promise<Order[]> {
	const data = await request<{ getOrderList: (Order | null)[] | null }>(
		`query($date: String, $customerId: String, $limit: Int, $offset: Int) {
			getOrderList(date: $date, customerId: $customerId, limit: $limit, offset: $offset) { ${ORDER} }
		}`,
		filter
	);
	return present(data.getOrderList);
}

export async function getPaymentList(date: string, page: Page = {}): Promise<Payment[]> {
	const data = await request<{ getPaymentList: (Payment | null)[] | null }>(
		`query($date: String, $limit: Int, $offset: Int) {
			getPaymentList(date: $date, limit: $limit, offset: $offset) { ${PAYMENT} }
		}`,
		{ date, ...page } satisfies Schema.QueryGetPaymentListArgs
	);
	return present(data.getPaymentList);
}

export async function getFulfilmentList(date: string, page: Page = {}): Promise<Fulfilment[]> {
	const data = await request<{ getFulfilmentList: (Fulfilment | null)[] | null }>(
		`query($date: String, $limit: Int, $offset: Int) {
			getFulfilmentList(date: $date, limit: $limit, offset: $offset) { ${FULFILMENT} }
		}`,
		{ date, ...page } satisfies Schema.QueryGetFulfilmentListArgs
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
		{ orderId } satisfies Schema.QueryGetOrderArgs & Schema.QueryGetPaymentForOrderArgs
	);
	return { order: data.getOrder, payment: data.getPaymentForOrder };
}

export async function getFulfilmentQueue(): Promise<Fulfilment[]> {
	const data = await request<{ getFulfilmentQueue: Fulfilment[] }>(
		`{ getFulfilmentQueue { ${FULFILMENT} } }`
	);
	return data.getFulfilmentQueue;
}

/** The pickup board: the orders being made, and those ready in the last 15 minutes. Anyone may ask. */
export async function getPickupBoard(): Promise<PickupOrder[]> {
	const data = await request<{ getPickupBoard: PickupOrder[] }>(`{ getPickupBoard { ${PICKUP} } }`);
	return data.getPickupBoard;
}

/** How the customer pays: the app's own card form, or Stripe's with the shop's publishable key. */
export type Checkout = Schema.Checkout;

// Asked once per page load: it changes only when the payment service restarts with another
// provider, and a failed ask is asked again next time.
let checkout: Promise<Checkout> | null = null;
export function getCheckout(): Promise<Checkout> {
	checkout ??= request<{ getCheckout: Checkout }>(`{ getCheckout { provider publishableKey } }`).then(
		(data) => data.getCheckout,
		(error) => {
			checkout = null;
			throw error;
		}
	);
	return checkout;
}

/** The shop, for anyone. */
export async function getShop(): Promise<Shop> {
	const data = await request<{ getShop: Shop }>(`{ getShop { ${SHOP} } }`);
	return data.getShop;
}

export async function getOrderTimeline(orderId: string): Promise<TimelineEvent[]> {
	const data = await request<{ getOrderTimeline: TimelineEvent[] }>(
		`query($orderId: ID!) { getOrderTimeline(orderId: $orderId) { ${EVENT} } }`,
		{ orderId } satisfies Schema.QueryGetOrderTimelineArgs
	);
	return data.getOrderTimeline;
}

/** A day's figures (admins); `date` is YYYY-MM-DD (UTC). */
export async function getDayFigures(date: string): Promise<DayFigures> {
	const data = await request<{ getDayFigures: DayFigures }>(
		`query($date: String!) { getDayFigures(date: $date) { ${DAY_FIGURES} } }`,
		{ date } satisfies Schema.QueryGetDayFiguresArgs
	);
	return data.getDayFigures;
}

// --- mutations ------------------------------------------------------------------------------

export async function createOrder(
	coffeeId: string,
	customerId: string,
	customerName: string,
	options?: Schema.OptionsInput
): Promise<Order> {
	const data = await request<{ createOrder: Order }>(
		`mutation($coffeeId: ID!, $customerId: String!, $customerName: String!, $options: OptionsInput) {
			createOrder(coffeeId: $coffeeId, customerId: $customerId, customerName: $customerName, options: $options) {
				${ORDER}
			}
		}`,
		{ coffeeId, customerId, customerName, options } satisfies Schema.MutationCreateOrderArgs
	);
	return data.createOrder;
}

/** Makes the order payable; the answer alone carries the client secret Stripe.js pays with. */
export async function makePayment(orderId: string): Promise<Payment & { clientSecret: string | null }> {
	const data = await request<{ makePayment: Payment & { clientSecret: string | null } }>(
		`mutation($orderId: ID!) { makePayment(orderId: $orderId) { ${PAYMENT} clientSecret } }`,
		{ orderId } satisfies Schema.MutationMakePaymentArgs
	);
	return data.makePayment;
}

export async function confirmPayment(paymentId: string, cardNumber: string): Promise<Payment> {
	const data = await request<{ confirmPayment: Payment }>(
		`mutation($paymentId: ID!, $cardNumber: String!) {
			confirmPayment(paymentId: $paymentId, cardNumber: $cardNumber) { ${PAYMENT} }
		}`,
		{ paymentId, cardNumber } satisfies Schema.MutationConfirmPaymentArgs
	);
	return data.confirmPayment;
}

export async function cancelOrder(orderId: string): Promise<Order> {
	const data = await request<{ cancelOrder: Order }>(
		`mutation($orderId: ID!) { cancelOrder(orderId: $orderId) { ${ORDER} } }`,
		{ orderId } satisfies Schema.MutationCancelOrderArgs
	);
	return data.cancelOrder;
}

export async function completeFulfilment(fulfilmentId: string): Promise<Fulfilment> {
	const data = await request<{ completeFulfilment: Fulfilment }>(
		`mutation($fulfilmentId: ID!) { completeFulfilment(fulfilmentId: $fulfilmentId) { ${FULFILMENT} } }`,
		{ fulfilmentId } satisfies Schema.MutationCompleteFulfilmentArgs
	);
	return data.completeFulfilment;
}

/** The barista signed in takes the coffee (`claimed`), or lets it go. */
export async function claimFulfilment(fulfilmentId: string, claimed: boolean): Promise<Fulfilment> {
	const field = claimed ? 'claimFulfilment' : 'releaseFulfilment';
	const data = await request<Record<string, Fulfilment>>(
		`mutation($fulfilmentId: ID!) { ${field}(fulfilmentId: $fulfilmentId) { ${FULFILMENT} } }`,
		{ fulfilmentId } satisfies Schema.MutationClaimFulfilmentArgs & Schema.MutationReleaseFulfilmentArgs
	);
	return data[field];
}

export async function rejectFulfilment(fulfilmentId: string, note: string): Promise<Fulfilment> {
	const data = await request<{ rejectFulfilment: Fulfilment }>(
		`mutation($fulfilmentId: ID!, $note: String) {
			rejectFulfilment(fulfilmentId: $fulfilmentId, note: $note) { ${FULFILMENT} }
		}`,
		{ fulfilmentId, note } satisfies Schema.MutationRejectFulfilmentArgs
	);
	return data.rejectFulfilment;
}

/** A drink's options as the owner sets them: each size and milk offered, with its price difference. */
export type MenuOptionsInput = Schema.MenuOptionsInput;
/** What the owner gives for a drink; left out, a field stays as it is (a new drink's options: the standard ones). */
export type CoffeeChange = Omit<Schema.MutationChangeCoffeeArgs, 'coffeeId'>;

/** A new drink on the menu (admins); the server gives its id. */
export async function addCoffee(coffee: Schema.MutationAddCoffeeArgs): Promise<MenuCoffee> {
	const data = await request<{ addCoffee: MenuCoffee }>(
		`mutation($name: String!, $description: String, $price: Int!, $options: MenuOptionsInput) {
			addCoffee(name: $name, description: $description, price: $price, options: $options) { ${MENU} }
		}`,
		coffee
	);
	return data.addCoffee;
}

/** Changes a drink (admins): its name, description, price, options, or whether it is sold out. */
export async function changeCoffee(coffeeId: string, change: CoffeeChange): Promise<MenuCoffee> {
	const data = await request<{ changeCoffee: MenuCoffee }>(
		`mutation($coffeeId: ID!, $name: String, $description: String, $price: Int, $options: MenuOptionsInput, $available: Boolean) {
			changeCoffee(coffeeId: $coffeeId, name: $name, description: $description, price: $price, options: $options, available: $available) { ${MENU} }
		}`,
		{ coffeeId, ...change } satisfies Schema.MutationChangeCoffeeArgs
	);
	return data.changeCoffee;
}

/** Takes a drink off the menu (admins); answers the menu left. */
export async function removeCoffee(coffeeId: string): Promise<Coffee[]> {
	const data = await request<{ removeCoffee: Coffee[] }>(
		`mutation($coffeeId: ID!) { removeCoffee(coffeeId: $coffeeId) { ${COFFEE} } }`,
		{ coffeeId } satisfies Schema.MutationRemoveCoffeeArgs
	);
	return data.removeCoffee;
}

/** The owner's settings (admins): all three at once; a null capacity is no limit. */
export async function setShop(open: boolean, capacity: number | null, message: string | null): Promise<Shop> {
	const data = await request<{ setShop: Shop }>(
		`mutation($open: Boolean!, $capacity: Int, $message: String) {
			setShop(open: $open, capacity: $capacity, message: $message) { ${SHOP} }
		}`,
		{ open, capacity, message } satisfies Schema.MutationSetShopArgs
	);
	return data.setShop;
}

// --- subscriptions --------------------------------------------------------------------------

type Live<T> = Omit<SubscribeOptions<unknown>, 'next'> & { next: (value: T) => void };

/** Order changes: of one order, of one customer's orders, or (no filter) of every order. */
export function watchOrders(
	filter: Schema.SubscriptionOrderUpdatedArgs & ({ orderId: string } | { customerId: string } | Record<string, never>),
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
		{ paymentId } satisfies Schema.SubscriptionPaymentUpdatedArgs,
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

/** The pickup board's changes: each order that starts being made, is ready or is cancelled. Anyone may watch. */
export function watchPickupBoard({ next, ...options }: Live<PickupOrder>): () => void {
	return subscribe<{ pickupBoardUpdated: PickupOrder | null }>(
		`subscription { pickupBoardUpdated { ${PICKUP} } }`,
		{},
		{ ...options, next: (data) => data.pickupBoardUpdated && next(data.pickupBoardUpdated) }
	);
}

/** The shop now, then whenever its settings or its queue change. Anyone may watch. */
export function watchShop({ next, ...options }: Live<Shop>): () => void {
	return subscribe<{ shopUpdated: Shop | null }>(`subscription { shopUpdated { ${SHOP} } }`, {}, {
		...options,
		next: (data) => data.shopUpdated && next(data.shopUpdated)
	});
}

/** The whole menu, each time the owner changes it. Anyone may watch. */
export function watchMenu({ next, ...options }: Live<MenuCoffee[]>): () => void {
	return subscribe<{ menuUpdated: MenuCoffee[] | null }>(`subscription { menuUpdated { ${MENU} } }`, {}, {
		...options,
		next: (data) => data.menuUpdated && next(data.menuUpdated)
	});
}
