// The day's figures on the admin page: orders placed, paid, made, rejected and left unpaid move
// the owner's numbers by what they are, and only an admin gets them. Other tests share the server
// and the day, so the checks are of the change, from the figures read before.
import type { APIRequestContext } from '@playwright/test';
import { expectAccessible } from './axe';
import { expect, test } from './fixtures';
import { expectNoSidewaysScroll } from './width';
import { completeOrder, customerSession, firstCoffee, gql, paidOrder, rejectOrder, staffSession } from './seed';

interface Figures {
	orders: number;
	completed: number;
	revenue: number;
	refunded: number;
	byDrink: { coffeeId: string; orders: number; completed: number; revenue: number }[];
	cancellations: { rejectedByBarista: number };
	ordersPerHour: number[];
}

/** The day's figures as `token`'s holder reads them (GraphQL: the gateway is what the pages talk to in both modes). */
async function figures(request: APIRequestContext, date: string, token: string): Promise<Figures> {
	const { getDayFigures } = await gql<{ getDayFigures: Figures }>(
		request,
		`query($d: String!) {
			getDayFigures(date: $d) { orders completed revenue refunded ordersPerHour
				byDrink { coffeeId orders completed revenue } cancellations { rejectedByBarista } }
		}`,
		{ d: date },
		token
	);
	return getDayFigures;
}

/** A new customer places an order and leaves it unpaid. */
async function unpaidOrder(request: APIRequestContext, name: string, coffeeId: string): Promise<string> {
	const customer = await customerSession(request, name);
	const { createOrder } = await gql<{ createOrder: { id: string } }>(
		request,
		'mutation($c: ID!, $n: String!, $id: String!) { createOrder(coffeeId: $c, customerId: $id, customerName: $n) { id } }',
		{ c: coffeeId, n: name, id: customer.customerId },
		customer.token
	);
	return createOrder.id;
}

/** "A$1,234.50" -> 123450 */
const cents = (text: string) => Number(text.replace(/[^0-9]/g, ''));

test('the admin’s figures count the day’s new orders, takings, refunds and hours', async ({ app, request, staff }) => {
	// Three orders placed and followed, two pages, three axe scans.
	test.setTimeout(120_000);
	const date = new Date().toISOString().slice(0, 10);
	const adminToken = (await staffSession(request, staff.admin)).token;
	const coffee = await firstCoffee(request);
	const before = await figures(request, date, adminToken);

	const admin = await app.open('/admin', { as: staff.admin, viewport: { width: 1440, height: 900 } });
	const panel = admin.getByTestId('day-figures');
	await expect(panel.getByTestId('figures-orders')).toHaveText(String(before.orders));

	// Two paid for, one made and one rejected by the barista; a third left unpaid.
	const made = await paidOrder(request, 'Fig', coffee.id);
	const rejected = await paidOrder(request, 'Newton', coffee.id);
	const unpaid = await unpaidOrder(request, 'Pear', coffee.id);
	await completeOrder(request, made);
	await rejectOrder(request, rejected, 'Out of figs');
	const orders = await Promise.all(
		[made, rejected, unpaid].map(async (o) => {
			const { getOrder } = await gql<{ getOrder: { price: number; createdAt: number; date: string } }>(
				request,
				'query($o: ID!) { getOrder(orderId: $o) { price createdAt date } }',
				{ o },
				adminToken
			);
			return getOrder;
		})
	);
	const [madePrice, rejectedPrice] = orders.map((o) => o.price);
	expect(orders.map((o) => o.date)).toEqual([date, date, date]);

	// The barista's steps reach the order service by events: the figures follow once they have.
	await expect
		.poll(async () => {
			const now = await figures(request, date, adminToken);
			return [now.orders, now.completed, now.revenue, now.refunded, now.cancellations.rejectedByBarista];
		})
		.toEqual([
			before.orders + 3,
			before.completed + 1,
			before.revenue + madePrice,
			before.refunded + rejectedPrice,
			before.cancellations.rejectedByBarista + 1
		]);

	// The page's Refresh brings the panel the new figures.
	await admin.getByTestId('admin-refresh').click();
	await expect(panel.getByTestId('figures-orders')).toHaveText(String(before.orders + 3));
	expect(cents(await panel.getByTestId('figures-revenue').innerText())).toBe(before.revenue + madePrice);
	expect(cents(await panel.getByTestId('figures-refunded').innerText())).toBe(before.refunded + rejectedPrice);
	// A drink was made today: its time from payment to ready, as "45 s" or "3 min 20 s".
	await expect(panel.getByTestId('figures-median-ready')).toHaveText(/^(\d+ s|\d+ min( \d+ s)?|\d+ h \d+ min)$/);
	await expect(panel.getByTestId('figures-cancel-rejectedByBarista')).toHaveText(
		String(before.cancellations.rejectedByBarista + 1)
	);
	const drinkBefore = before.byDrink.find((d) => d.coffeeId === coffee.id) ?? { orders: 0, completed: 0, revenue: 0 };
	const row = panel.locator(`[data-testid="figures-drink-row"][data-coffee-id="${coffee.id}"]`);
	await expect(row.locator('th')).toHaveText(coffee.name);
	await expect(row.locator('td')).toHaveText([String(drinkBefore.orders + 3), String(drinkBefore.completed + 1), /./]);
	expect(cents(await row.locator('td').nth(2).innerText())).toBe(drinkBefore.revenue + madePrice);
	// Each order in the bar of the hour (UTC) it was placed in: the test may straddle one.
	const added = new Map<number, number>();
	for (const o of orders) {
		const hour = new Date(o.createdAt * 1000).getUTCHours();
		added.set(hour, (added.get(hour) ?? 0) + 1);
	}
	for (const [hour, n] of added) {
		await expect(panel.locator(`[data-testid="figures-hour"][data-hour="${hour}"]`)).toHaveAttribute(
			'data-count',
			String(before.ordersPerHour[hour] + n)
		);
	}
	await expect(panel.getByTestId('figures-hour')).toHaveCount(24);
	await expect(panel.getByRole('img', { name: /^Orders per hour \(UTC\): \d+ orders in all/ })).toBeVisible();
	// On a desktop the 24 bars fit without scrolling.
	const chart = panel.getByTestId('figures-hours');
	expect(await chart.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
	// The panel's own check: the rest of the admin page is checked by the tests of its parts.
	await expectAccessible(admin, 'admin-figures', '[data-testid="day-figures"]');
	await app.screenshot(admin, '1-desktop');

	// Another day: nothing, and the answers for today are not shown for it.
	await admin.getByTestId('admin-date').fill('2020-01-01');
	await expect(panel.getByTestId('figures-orders')).toHaveText('0');
	await expect(panel.getByTestId('figures-revenue')).toHaveText('A$0.00');
	await expect(panel.getByTestId('figures-no-drinks')).toHaveText('No drinks ordered on 2020-01-01.');
	await expect(panel.getByRole('img', { name: 'Orders per hour (UTC): none this day.' })).toBeVisible();
	await expect(panel.getByTestId('figures-median-ready')).toHaveText('—');
	await expectAccessible(admin, 'admin-figures-empty-day', '[data-testid="day-figures"]');

	// A phone: the chart scrolls inside its box, the page does not; the dark theme reads as well.
	const phone = await app.open('/admin', {
		as: staff.admin,
		viewport: { width: 390, height: 844 },
		colorScheme: 'dark'
	});
	const phoneChart = phone.getByTestId('day-figures').getByTestId('figures-hours');
	await expect(phoneChart).toBeVisible();
	expect(await phoneChart.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
	await expectNoSidewaysScroll(phone, 'figures on a phone');
	await app.screenshot(phone, '2-phone-dark');
	await expectAccessible(phone, 'admin-figures-phone-dark', '[data-testid="day-figures"]');
});

test('a barista gets no figures', async ({ app, request, staff }) => {
	const date = new Date().toISOString().slice(0, 10);
	// (REST's GET /api/shop/figures refuses a barista too: the access table's tests check both.)
	const { token } = await staffSession(request, staff.barista);
	const graphql = await request.post('/graphql', {
		data: { query: 'query($d: String!) { getDayFigures(date: $d) { orders } }', variables: { d: date } },
		headers: { authorization: `Bearer ${token}` }
	});
	const body = await graphql.json();
	expect(body.errors?.[0]?.extensions?.code, JSON.stringify(body)).toBe('FORBIDDEN');

	const page = await app.open('/admin', { as: staff.barista });
	await expect(page.getByTestId('admins-only')).toBeVisible();
	await expect(page.getByTestId('day-figures')).toHaveCount(0);
});
