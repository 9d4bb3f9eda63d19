// GraphiQL, as a developer opens it on `coffee serve --dev`: it loads and runs a query with no
// internet (every request to another host is refused here and must not be tried), from this
// server's own copy, under a policy that lets the page load and call this server only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { coffeeBin, startCoffee, stopProcess, type Running } from './servers';

let server: Running | undefined;
let dataDir = '';

test.beforeAll(async () => {
	dataDir = mkdtempSync(path.join(tmpdir(), 'coffee-graphiql-'));
	server = await startCoffee(coffeeBin(), ['serve', '--dev', '--data-dir', dataDir]);
});

test.afterAll(async () => {
	await stopProcess(server);
	rmSync(dataDir, { recursive: true, force: true });
});

test('GraphiQL loads from the server itself and runs a query with no internet', async ({ page }) => {
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

	const query = '{ getCoffees { name } }';
	const response = await page.goto(`${server!.url}/graphql?query=${encodeURIComponent(query)}`);
	expect(response?.headers()['content-security-policy']).toContain("script-src 'self';");
	await expect(page.locator('.graphiql-container')).toBeVisible();
	await page.locator('.graphiql-execute-button').click();
	await expect(page.locator('.graphiql-response')).toContainText('Cappuccino');

	expect(elsewhere, 'no request left this server').toEqual([]);
	expect(problems, 'no script error and nothing the policy blocked').toEqual([]);
});
