// Who sees which navigation: customers only their own pages, staff theirs, the board none.
import { expect, test } from './fixtures';

test('customers see only their pages; staff have their own navigation; the board has none', async ({ app }) => {
	for (const path of ['/', '/orders']) {
		const page = await app.open(path);
		const nav = page.getByTestId('nav');
		await expect(nav.getByRole('link', { name: 'Order', exact: true })).toBeVisible();
		await expect(nav.getByRole('link', { name: 'My orders' })).toBeVisible();
		await expect(page.getByRole('link', { name: /barista|admin|pickup/i })).toHaveCount(0);
	}
	for (const path of ['/barista', '/admin']) {
		const page = await app.open(path);
		const nav = page.getByTestId('nav');
		await expect(nav.getByRole('link', { name: 'Barista' })).toBeVisible();
		await expect(nav.getByRole('link', { name: 'Admin' })).toBeVisible();
		await expect(nav.getByRole('link', { name: 'Pickup board' })).toBeVisible();
		await expect(nav.getByRole('link', { name: 'My orders' })).toHaveCount(0);
	}
	const board = await app.open('/display');
	await expect(board.getByTestId('board')).toBeVisible();
	await expect(board.getByRole('navigation')).toHaveCount(0);
	await expect(board.getByRole('link')).toHaveCount(0);
});
