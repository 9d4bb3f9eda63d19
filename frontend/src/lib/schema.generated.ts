// GENERATED from ../schema.graphql by scripts/gen-types.mjs: do not edit.
// `npm run check` fails when this file and the schema differ; `node scripts/gen-types.mjs` rewrites it.

export type FulfilmentDetailStatus = 'FULFILMENT_CREATED' | 'FULFILMENT_COMPLETED' | 'FULFILMENT_REJECTED';
export const FulfilmentDetailStatusValues = ['FULFILMENT_CREATED', 'FULFILMENT_COMPLETED', 'FULFILMENT_REJECTED'] as const;

export type OrderDetailStatus = 'ORDER_CREATED' | 'ORDER_IN_PROGRESS' | 'ORDER_CANCELLED' | 'ORDER_COMPLETED';
export const OrderDetailStatusValues = ['ORDER_CREATED', 'ORDER_IN_PROGRESS', 'ORDER_CANCELLED', 'ORDER_COMPLETED'] as const;

export type PaymentDetailStatus = 'PAYMENT_PENDING' | 'PAYMENT_CREATED' | 'PAYMENT_SUCCESSFUL' | 'PAYMENT_FAILED' | 'PAYMENT_REFUNDED';
export const PaymentDetailStatusValues = ['PAYMENT_PENDING', 'PAYMENT_CREATED', 'PAYMENT_SUCCESSFUL', 'PAYMENT_FAILED', 'PAYMENT_REFUNDED'] as const;

/** Why a day's orders were cancelled. */
export interface Cancellations {
	byCustomer: number;
	notPaidInTime: number;
	paymentFailed: number;
	rejectedByBarista: number;
	other: number;
}

/** How a customer's browser pays. */
export interface Checkout {
	/**
	 * `simulated` (the app's own card form, `confirmPayment`, with Stripe's test card numbers)
	 * or `stripe` (Stripe.js and its Payment Element, with `makePayment`'s client secret).
	 */
	provider: string;
	/** Stripe's publishable key (`pk_...`) for Stripe.js; null with the simulated provider. */
	publishableKey: string | null;
}

/** The options a customer chose. */
export interface ChosenOptions {
	/** small, regular or large. */
	size: string;
	/** full, skim, oat or soy. */
	milk: string;
	extraShots: number;
}

/** A coffee on the menu. */
export interface Coffee {
	id: string;
	name: string;
	description: string;
	/** In cents (AUD). */
	price: number;
	/**
	 * Its options with what each adds to the price: on the menu only (null in an order's copy
	 * of the coffee; the order has the options chosen).
	 */
	options: MenuOptions | null;
	/** False: sold out for now. Null in an order's copy of the coffee. */
	available: boolean | null;
}

/** A day's figures (UTC), from its orders: what the owner reads on /admin. */
export interface DayFigures {
	/** The day, YYYY-MM-DD. */
	date: string;
	orders: number;
	completed: number;
	/** Paid for and still being made. */
	inProgress: number;
	/** Placed and not paid (yet). */
	unpaid: number;
	cancelled: number;
	/** What completed orders cost, in cents: the takings, net of refunds. */
	revenue: number;
	/** What paid orders that were then cancelled cost, in cents: given back. */
	refunded: number;
	/** What paid orders still being made cost, in cents. */
	inProgressAmount: number;
	/** Each drink ordered that day, most ordered first. */
	byDrink: DrinkFigures[];
	cancellations: Cancellations;
	/** From payment to ready over the day's completed orders, in seconds; null: nothing made. */
	medianReadySeconds: number | null;
	p90ReadySeconds: number | null;
	/** Orders placed in each hour of the day (UTC), 24 of them from 00:00. */
	ordersPerHour: number[];
	/** False when the day held more orders than were read (5,000): the figures are of the first. */
	complete: boolean;
}

/** One drink's line of a day's figures. */
export interface DrinkFigures {
	coffeeId: string;
	name: string;
	orders: number;
	completed: number;
	/** In cents. */
	revenue: number;
}

/** The barista's job of making one paid coffee. */
export interface FulfilmentDetail {
	id: string;
	orderId: string;
	/** FULFILMENT_CREATED, FULFILMENT_COMPLETED or FULFILMENT_REJECTED. */
	status: FulfilmentDetailStatus;
	note: string | null;
	/** Seconds since the epoch. */
	createdAt: number;
	customerId: string;
	customerName: string;
	/**
	 * The day's number of the order, counting from 1: what the barista calls. Absent on
	 * orders placed before numbers existed.
	 */
	orderNumber: number | null;
	coffee: Coffee | null;
	/** Size, milk and extra shots as chosen; null on orders from before options. */
	options: ChosenOptions | null;
	/** The barista making it; null while it waits for anyone. */
	baristaName: string | null;
	/** Seconds since the epoch: when that barista claimed it. */
	claimedAt: number | null;
	/** Seconds since the epoch. */
	updatedAt: number;
}

/** A drink's options on the menu, with what each adds to its price (in cents; negative: less). */
export interface MenuOptions {
	/** small, regular, large. */
	size: OptionChoice[];
	/** full, skim, oat, soy. */
	milk: OptionChoice[];
	/** What each extra shot adds. */
	extraShot: number;
	maxExtraShots: number;
}

/**
 * A drink's options as the owner sets them: each size and milk offered, with what it adds to
 * the price (in cents; negative: less), what an extra shot adds and how many may be asked for.
 */
export interface MenuOptionsInput {
	/** Some of small, regular, large, each once. */
	size: OptionChoiceInput[];
	/** Some of full, skim, oat, soy, each once. */
	milk: OptionChoiceInput[];
	extraShot: number;
	/** 0 to 3. */
	maxExtraShots: number;
}

export interface Mutation {
	/**
	 * A new drink on the menu (admins), with its options (left out: the standard ones); its id
	 * is the next number.
	 */
	addCoffee: Coffee;
	/**
	 * Changes a drink on the menu (admins): its name, description, price, options (all of them
	 * at once), or whether it is sold out (`available: false`). Open menus update live
	 * (`menuUpdated`).
	 */
	changeCoffee: Coffee;
	/** Takes a drink off the menu (admins); answers the menu left. Ordering it is then SOLD_OUT. */
	removeCoffee: Coffee[];
	/**
	 * The shop's settings (admins): open or closed, the most open orders at once (null: no
	 * limit), the message to customers (null or empty: none). Each call sets all three.
	 */
	setShop: Shop;
	/** Orders a coffee from the menu, with options; the price comes from the menu. */
	createOrder: OrderDetail;
	/**
	 * Starts paying an order: the payment, PAYMENT_CREATED, with the client secret the card
	 * form needs. Asking again returns the same payment.
	 */
	makePayment: PaymentDetail;
	/** The customer cancels, until the coffee is made. A paid order is refunded. */
	cancelOrder: OrderDetail;
	/** The barista cannot make the coffee: the order is cancelled and refunded. */
	rejectFulfilment: FulfilmentDetail;
	/** The barista made the coffee: the order is ready to collect. */
	completeFulfilment: FulfilmentDetail;
	/**
	 * The barista signed in takes a waiting coffee to make: the others see it taken
	 * (`baristaName`). CONFLICT when another barista is making it.
	 */
	claimFulfilment: FulfilmentDetail;
	/** The barista making a coffee lets it go, back to the queue (an admin may free anyone's). */
	releaseFulfilment: FulfilmentDetail;
	/**
	 * The simulated provider's card form. Returns the payment after the outcome:
	 * PAYMENT_SUCCESSFUL, or, for a declined card, still PAYMENT_CREATED with a note saying
	 * why: another card may then pay. Test cards:
	 * 4242424242424242 succeeds; 4000000000000002 is declined; 4000000000009995 has
	 * insufficient funds; any other number is refused (BAD_USER_INPUT).
	 */
	confirmPayment: PaymentDetail;
}

export interface MutationAddCoffeeArgs {
	name: string;
	description?: string | null;
	price: number;
	options?: MenuOptionsInput | null;
}

export interface MutationChangeCoffeeArgs {
	coffeeId: string;
	name?: string | null;
	description?: string | null;
	price?: number | null;
	options?: MenuOptionsInput | null;
	available?: boolean | null;
}

export interface MutationRemoveCoffeeArgs {
	coffeeId: string;
}

export interface MutationSetShopArgs {
	open: boolean;
	capacity?: number | null;
	message?: string | null;
}

export interface MutationCreateOrderArgs {
	coffeeId: string;
	customerId: string;
	customerName: string;
	options?: OptionsInput | null;
}

export interface MutationMakePaymentArgs {
	orderId: string;
}

export interface MutationCancelOrderArgs {
	orderId: string;
	note?: string | null;
}

export interface MutationRejectFulfilmentArgs {
	fulfilmentId: string;
	note?: string | null;
}

export interface MutationCompleteFulfilmentArgs {
	fulfilmentId: string;
	note?: string | null;
}

export interface MutationClaimFulfilmentArgs {
	fulfilmentId: string;
}

export interface MutationReleaseFulfilmentArgs {
	fulfilmentId: string;
}

export interface MutationConfirmPaymentArgs {
	paymentId: string;
	cardNumber: string;
}

export interface OptionChoice {
	value: string;
	priceDelta: number;
}

export interface OptionChoiceInput {
	value: string;
	priceDelta: number;
}

/** `createOrder`'s options: each left out is the drink as it comes (regular, full milk, none). */
export interface OptionsInput {
	size?: string | null;
	milk?: string | null;
	extraShots?: number | null;
}

/** An order: one coffee for one customer. */
export interface OrderDetail {
	id: string;
	customerId: string;
	customerName: string;
	/**
	 * The day's number of the order, counting from 1: what the barista calls. Absent on
	 * orders placed before numbers existed.
	 */
	orderNumber: number | null;
	coffee: Coffee | null;
	/** Size, milk and extra shots as chosen; null on orders from before options. */
	options: ChosenOptions | null;
	/** What the drink with its options costs, in cents (the coffee's price on older orders). */
	price: number;
	/** ORDER_CREATED, ORDER_IN_PROGRESS, ORDER_CANCELLED or ORDER_COMPLETED. */
	status: OrderDetailStatus;
	note: string | null;
	/** Seconds since the epoch. */
	createdAt: number;
	/** Seconds since the epoch. */
	updatedAt: number;
	/** The day the order was placed, YYYY-MM-DD (UTC). */
	date: string;
}

/** The payment of an order. */
export interface PaymentDetail {
	id: string;
	orderId: string;
	/** PAYMENT_PENDING, PAYMENT_CREATED, PAYMENT_SUCCESSFUL, PAYMENT_FAILED or PAYMENT_REFUNDED. */
	status: PaymentDetailStatus;
	paymentIntentId: string | null;
	/** What the customer's browser needs to pay: only in the answer to `makePayment`. */
	clientSecret: string | null;
	note: string | null;
	/** Seconds since the epoch. */
	createdAt: number;
	/** In cents. */
	amount: number;
	currency: string;
	customerId: string;
	customerName: string;
	/**
	 * The day's number of the order, counting from 1: what the barista calls. Absent on
	 * orders placed before numbers existed.
	 */
	orderNumber: number | null;
	/** Size, milk and extra shots as chosen; null on orders from before options. */
	options: ChosenOptions | null;
	/** Seconds since the epoch. */
	updatedAt: number;
}

/** An order as the pickup board shows it, to anyone: its number and the customer's first name. */
export interface PickupOrder {
	/** The number the barista calls. */
	number: string;
	/** The customer's first name. */
	name: string;
	/** ORDER_IN_PROGRESS (being made), ORDER_COMPLETED (ready) or ORDER_CANCELLED (gone). */
	status: string;
	/** Seconds since the epoch. */
	createdAt: number;
	/** Seconds since the epoch: for a ready order, when it became ready. */
	updatedAt: number;
}

export interface Query {
	/** The menu. */
	getCoffees: (Coffee | null)[] | null;
	/**
	 * The orders of a day (YYYY-MM-DD; today, UTC, when both arguments are absent) or of a
	 * customer; not both. A page: the newest `limit` (500 unless given, at most 5000) after
	 * skipping `offset` (0); the next page is the older ones (every page is oldest first).
	 */
	getOrderList: (OrderDetail | null)[] | null;
	/** The payments of a day (today, UTC, by default), a page at a time as `getOrderList`. */
	getPaymentList: (PaymentDetail | null)[] | null;
	/** The fulfilments of a day (today, UTC, by default), a page at a time as `getOrderList`. */
	getFulfilmentList: (FulfilmentDetail | null)[] | null;
	/** An order; null when there is none with this id. */
	getOrder: OrderDetail | null;
	/** The payment of an order; null while it has none. Never carries the client secret. */
	getPaymentForOrder: PaymentDetail | null;
	/** The fulfilment of an order; null while it has none (it is created once the order is paid). */
	getFulfilmentForOrder: FulfilmentDetail | null;
	/** The barista's queue: open fulfilments (FULFILMENT_CREATED) of any day, oldest first. */
	getFulfilmentQueue: FulfilmentDetail[];
	/** The shop, for anyone: open or not, its capacity and queue, the estimated wait, its message. */
	getShop: Shop;
	/**
	 * How a customer's browser pays, for anyone: the simulated card form, or Stripe's Payment
	 * Element with the shop's publishable key.
	 */
	getCheckout: Checkout;
	/**
	 * A day's figures (admins): orders and takings by drink, cancellations by reason, times from
	 * payment to ready, orders per hour. `date` is YYYY-MM-DD (UTC).
	 */
	getDayFigures: DayFigures;
	/**
	 * The pickup board, for anyone: the orders being made, and those ready for the last
	 * `--pickup-board-minutes` (15 by default), with their number and the customer's first name only.
	 */
	getPickupBoard: PickupOrder[];
	/** Every event the three services published about an order, in time order. */
	getOrderTimeline: TimelineEvent[];
}

export type QueryGetCoffeesArgs = Record<string, never>;

export interface QueryGetOrderListArgs {
	date?: string | null;
	customerId?: string | null;
	limit?: number | null;
	offset?: number | null;
}

export interface QueryGetPaymentListArgs {
	date?: string | null;
	limit?: number | null;
	offset?: number | null;
}

export interface QueryGetFulfilmentListArgs {
	date?: string | null;
	limit?: number | null;
	offset?: number | null;
}

export interface QueryGetOrderArgs {
	orderId: string;
}

export interface QueryGetPaymentForOrderArgs {
	orderId: string;
}

export interface QueryGetFulfilmentForOrderArgs {
	orderId: string;
}

export type QueryGetFulfilmentQueueArgs = Record<string, never>;

export type QueryGetShopArgs = Record<string, never>;

export type QueryGetCheckoutArgs = Record<string, never>;

export interface QueryGetDayFiguresArgs {
	date: string;
}

export type QueryGetPickupBoardArgs = Record<string, never>;

export interface QueryGetOrderTimelineArgs {
	orderId: string;
}

/** The shop as anyone sees it before ordering. */
export interface Shop {
	/** Whether it takes orders now. */
	open: boolean;
	/** The most open orders (placed, not yet completed or cancelled) at once; null: no limit. */
	capacity: number | null;
	/** Orders placed and not yet completed or cancelled. */
	queueLength: number;
	/**
	 * How long a drink paid for now can expect to take, in seconds, from the last hour's
	 * drinks; null when none was made in the last hour.
	 */
	estimatedWaitSeconds: number | null;
	/** The shop's word to its customers (why it is closed, when it opens). */
	message: string | null;
	/** After how long from payment the barista's queue flags a drink still waiting as slow. */
	slowOrderAfterSeconds: number;
	/** How long a ready order stays on the pickup board. */
	pickupBoardSeconds: number;
	/** How long an order waits for its payment before it is cancelled ("Not paid in time"). */
	unpaidOrderTimeoutSeconds: number;
}

export interface Subscription {
	/**
	 * Changes of orders: of one order (its current state first), of one customer's orders, or
	 * of every order.
	 */
	orderUpdated: OrderDetail | null;
	/**
	 * Changes of payments: of one payment (its current state first), of one customer's
	 * payments, or of every payment. Never carries the client secret.
	 */
	paymentUpdated: PaymentDetail | null;
	/**
	 * Changes of fulfilments: of one fulfilment (its current state first), of one customer's
	 * fulfilments, or of every fulfilment.
	 */
	fulfilmentUpdated: FulfilmentDetail | null;
	/**
	 * The menu, for anyone: each time the owner changes it (a drink sold out or back, added,
	 * changed or removed), the whole menu as customers see it.
	 */
	menuUpdated: Coffee[] | null;
	/**
	 * The shop, for anyone: its state now, then again whenever it changes (the owner's
	 * settings, or the queue as orders come and go), at most once a second.
	 */
	shopUpdated: Shop | null;
	/**
	 * Changes of the pickup board, for anyone: each order that starts being made, becomes
	 * ready or is cancelled, with its number and the customer's first name only.
	 */
	pickupBoardUpdated: PickupOrder | null;
}

export interface SubscriptionOrderUpdatedArgs {
	orderId?: string | null;
	customerId?: string | null;
}

export interface SubscriptionPaymentUpdatedArgs {
	paymentId?: string | null;
	customerId?: string | null;
}

export interface SubscriptionFulfilmentUpdatedArgs {
	fulfilmentId?: string | null;
	customerId?: string | null;
}

export type SubscriptionMenuUpdatedArgs = Record<string, never>;

export type SubscriptionShopUpdatedArgs = Record<string, never>;

export type SubscriptionPickupBoardUpdatedArgs = Record<string, never>;

/** One event the system recorded about an order. */
export interface TimelineEvent {
	/** The event's id (a UUIDv7). */
	id: string;
	/** The CloudEvents type, e.g. `coffee.payment.succeeded`. */
	type: string;
	/** The service that published it: order-service, payment-service or fulfilment-service. */
	source: string;
	/** When it was published, RFC 3339. */
	time: string;
	/** The status the entity entered. */
	status: string;
	note: string | null;
	/** The event's data: the entity's JSON snapshot. */
	data: string;
}
