// Swagger UI at /api/docs, as a developer opens it: it loads the server's OpenAPI document and
// calls a route with "Try it out", with no internet (every request to another host is refused
// here and must not be tried), from this server's own copy, under a policy that lets the page
// load and call this server only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { coffeeBin, startCoffee, stopProcess, type Running } from './servers';

let server: Running | undefined;
let dataDir = '';

test.beforeAll(async () => {
	dataDir = mkdtempSync(path.join(tmpdir(), 'coffee-api-docs-'));
	server = await startCoffee(coffeeBin(), ['serve', '--data-dir', dataDir]);
});

test.afterAll(async () => {
	await stopProcess(server);
	rmSync(dataDir, { recursive: true, force: true });
});

test('Swagger UI shows the REST API from the server itself and tries a route with no internet', async ({
	page
}) => {
	const base = new URL(server!.url);
	const elsewhere: string[] = [];
	await page.route('**/*', (route) => {
		const url = new URL(route.request().url());
		if (url.host === base.host) return route.continue();
		elsewhere.push(url.href);
		return route.abort('internetdisconnected');
	});
	const problems: string[] = [];
	page.on('pageerror', (error) => problems.push(error.message));
	page.on('console', (message) => {
		if (message.type() === 'error') problems.push(message.text());
	});

	const response = await page.goto(`${server!.url}/api/docs`);
	expect(response?.headers()['content-security-policy']).toContain("script-src 'self';");
	await expect(page.locator('.swagger-ui .info .title')).toContainText('Event Driven Coffee');
	// The menu's route, opened and tried: the answer is the server's own menu.
	const menu = page.locator('#operations-order-getCoffees');
	await menu.locator('.opblock-summary').click();
	await menu.getByRole('button', { name: 'Try it out' }).click();
	await menu.getByRole('button', { name: 'Execute' }).click();
	await expect(menu.locator('.responses-wrapper .live-responses-table')).toContainText('Cappuccino');

	expect(elsewhere, 'no request left this server').toEqual([]);
	expect(problems, 'no script error and nothing the policy blocked').toEqual([]);
});
