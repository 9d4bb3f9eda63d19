// What the server sends for the app: each page its own prerendered HTML (content before any
// script runs), a real 404, compressed text, long caching for hashed files only, and a first
// visit under a budget on a slow network. (scripts/measure.mjs records the figures.)
import { expect, test } from './fixtures';

const PAGES: [string, string][] = [
	['/', 'Order a coffee'],
	['/orders', 'My orders'],
	['/barista', 'To make'],
	['/display', 'Being made'],
	['/admin', 'Admin']
];
/** A first visit to `/` on a slow network, cache empty: HTML, CSS and scripts, compressed. */
const BUDGET_BYTES = 80_000;
/** The page, one script, one stylesheet and the first GraphQL request or two. */
const BUDGET_REQUESTS = 6;

test('each page is its own prerendered HTML; an unknown path is a 404', async ({ request }) => {
	for (const [path, text] of PAGES) {
		const response = await request.get(path);
		expect(response.status(), path).toBe(200);
		expect(response.headers()['content-type'], path).toBe('text/html; charset=utf-8');
		expect(response.headers()['cache-control'], path).toBe('no-cache');
		expect(await response.text(), path).toContain(text);
	}
	for (const path of ['/nope', '/orders/123', '/admin/x/y']) {
		const response = await request.get(path);
		expect(response.status(), path).toBe(404);
		expect(response.headers()['content-type'], path).toBe('text/html; charset=utf-8');
	}
});

test('the first screen shows before (and without) JavaScript', async ({ app }) => {
	for (const [path, text] of PAGES) {
		const page = await app.open(path, { javaScriptEnabled: false });
		await expect(page.getByRole('heading', { level: 1 }), path).toHaveCount(1);
		await expect(page.locator('body'), path).toContainText(text);
	}
	const customer = await app.open('/', { javaScriptEnabled: false });
	await expect(customer.getByTestId('nav').getByRole('link', { name: 'My orders' })).toBeVisible();
});

test('text is compressed, hashed files are cached for good and pages are revalidated', async ({ page }) => {
	const seen: { url: string; encoding?: string; cache?: string; type?: string }[] = [];
	page.on('response', async (response) => {
		const headers = await response.allHeaders();
		seen.push({
			url: new URL(response.url()).pathname,
			encoding: headers['content-encoding'],
			cache: headers['cache-control'],
			type: headers['content-type']
		});
	});
	await page.goto('/', { waitUntil: 'load' });
	await page.waitForLoadState('networkidle');
	const html = seen.find((r) => r.url === '/')!;
	expect(html.encoding).toBe('br');
	expect(html.cache).toBe('no-cache');
	const assets = seen.filter((r) => r.url.startsWith('/_app/immutable/'));
	// One script and one stylesheet (bundleStrategy: single).
	expect(assets.map((a) => a.url.split('.').pop()).toSorted()).toEqual(['css', 'js']);
	for (const asset of assets) {
		expect(asset.cache, asset.url).toBe('public, max-age=31536000, immutable');
		if (/\.(js|css)$/.test(asset.url)) expect(asset.encoding, asset.url).toBe('br');
	}
});

test(`a first visit on a slow network transfers under ${BUDGET_BYTES / 1000} kB in a few requests`, async ({ app }) => {
	const page = await app.open('/');
	const cdp = await page.context().newCDPSession(page);
	await cdp.send('Network.enable');
	await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
	await cdp.send('Network.emulateNetworkConditions', {
		offline: false,
		latency: 150,
		downloadThroughput: (1.6 * 1024 * 1024) / 8,
		uploadThroughput: (750 * 1024) / 8
	});
	let bytes = 0;
	let requests = 0;
	const network = new Set<string>();
	cdp.on('Network.requestWillBeSent', (e) => {
		if (!e.request.url.startsWith('data:')) network.add(e.requestId);
	});
	cdp.on('Network.loadingFinished', (e) => {
		if (!network.has(e.requestId)) return;
		bytes += e.encodedDataLength;
		requests += 1;
	});
	await page.reload({ waitUntil: 'load' });
	await expect(page.getByTestId('customer-name-input')).toBeVisible();
	console.log(`first visit to /: ${bytes} bytes in ${requests} requests`);
	expect(bytes).toBeLessThan(BUDGET_BYTES);
	expect(requests).toBeLessThanOrEqual(BUDGET_REQUESTS);
});
