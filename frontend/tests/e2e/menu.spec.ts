// The owner keeps the menu from the web app alone: adds a drink with its own options, changes its
// price, and takes it off; a customer's open menu follows each change live and prices the options
// as the owner set them.
import { expectAccessible } from './axe';
import { nameCustomer } from './customer';
import { expect, test } from './fixtures';
import { removeDrinksNamedAsAdmin } from './seed';

test('the admin adds a drink with its options, changes its price and takes it off; an open customer menu follows', async ({
	app,
	staff,
	request
}) => {
	const drink = `Cold brew ${Date.now().toString(36)}`;
	const customer = await app.open('/');
	await nameCustomer(customer, 'Cole');
	const admin = await app.open('/admin', { as: staff.admin, viewport: { width: 1440, height: 900 } });
	const menu = admin.getByTestId('menu-settings');
	try {
		await menu.getByTestId('menu-add').click();
		const form = menu.getByRole('form', { name: 'A new drink' });
		await form.getByLabel('Name').fill(drink);
		await form.getByLabel('Description').fill('Steeped overnight, served over ice.');

		// What the form cannot use is said in the owner's words, and nothing is added.
		await form.getByLabel('Price (A$)').fill('five');
		await form.getByTestId('drink-save').click();
		await expect(form.getByTestId('drink-problem')).toHaveText('Price: write it in dollars and cents, like 4.20.');
		await form.getByLabel('Price (A$)').fill('5');
		// No small, no soy; a large is a dollar more, oat 40 c; at most one extra shot.
		await form.getByTestId('drink-offer-small').uncheck();
		await form.getByTestId('drink-offer-soy').uncheck();
		await form.getByLabel('Large: what it adds to the price, in dollars').fill('1.00');
		await form.getByLabel('Oat: what it adds to the price, in dollars').fill('0.4');
		await form.getByLabel('Most extra shots').selectOption('1');
		await expectAccessible(admin, 'drink-editor');
		await app.screenshot(admin, '1-new-drink');
		await form.getByTestId('drink-save').click();
		await expect(form).toHaveCount(0);

		const row = menu.locator('[data-testid="menu-item"]', { hasText: drink });
		await expect(row).toContainText('A$5.00');
		await expect(row.getByTestId('menu-item-options')).toContainText('Large (+A$1.00)');

		// The customer's menu was open all along: the drink appears with exactly the options set.
		const item = customer.locator('[data-testid="coffee-item"]', { hasText: drink });
		await expect(item.getByTestId('coffee-price')).toHaveText('A$5.00');
		await expect(item.getByLabel('Size').locator('option')).toHaveText(['Regular', 'Large (+A$1.00)']);
		await expect(item.getByLabel('Milk').locator('option')).toHaveText(['Full', 'Skim', 'Oat (+A$0.40)']);
		await item.getByLabel('Size').selectOption('large');
		await item.getByLabel('Milk').selectOption('oat');
		await item.getByLabel('Extra shots').selectOption('1');
		await expect(item.getByTestId('coffee-price')).toHaveText('A$6.90');

		// A new price, and no more large: the open menu follows, and the customer's large becomes
		// a regular (what they would order is what the price shows).
		await row.getByRole('button', { name: `Change ${drink}` }).click();
		const change = menu.getByRole('form', { name: `Change ${drink}` });
		await expect(change.getByLabel('Name')).toHaveValue(drink);
		await expect(change.getByLabel('Oat: what it adds to the price, in dollars')).toHaveValue('0.40');
		await change.getByLabel('Price (A$)').fill('5.50');
		await change.getByTestId('drink-offer-large').uncheck();
		await change.getByTestId('drink-save').click();
		await expect(row).toContainText('A$5.50');
		await expect(item.getByLabel('Size').locator('option')).toHaveText(['Regular']);
		await expect(item.getByTestId('coffee-price')).toHaveText('A$6.40');

		// Taking it off is asked twice; then the customer's menu no longer offers it.
		await row.getByRole('button', { name: `Remove ${drink} from the menu` }).click();
		await expect(row).toContainText(`Take ${drink} off the menu?`);
		await expectAccessible(admin, 'remove-drink');
		await app.screenshot(admin, '2-remove');
		await row.getByTestId('menu-remove-confirm').click();
		await expect(row).toHaveCount(0);
		await expect(item).toHaveCount(0);
		await expect(customer.getByRole('button', { name: 'Order a Latte', exact: true })).toBeEnabled();
	} finally {
		await removeDrinksNamedAsAdmin(request, drink);
	}
});
