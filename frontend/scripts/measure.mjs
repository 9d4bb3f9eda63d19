// Page weight and first paint of each page, in Chromium over a throttled network
// (1.6 Mbps down, 750 kbps up, 150 ms RTT: Chrome DevTools' "Fast 3G"-like profile, set with
// CDP `Network.emulateNetworkConditions`). A cold visit per page: fresh browser context, empty cache.
//
//   node scripts/measure.mjs LABEL            # starts $COFFEE_BIN (default ../target/debug/coffee)
//   COFFEE_URL=http://127.0.0.1:8080 node scripts/measure.mjs LABEL
//
// Writes ../artifacts/perf-LABEL.json and prints it. Figures, not assertions: timings vary from run
// to run; each page is visited RUNS times and the median is kept.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const FRONTEND = path.resolve(import.meta.dirname, '..');
const label = process.argv[2] ?? 'now';
const RUNS = Number(process.env.RUNS ?? 3);
const PAGES = ['/', '/orders', '/barista', '/display', '/admin'];
export const THROTTLE = {
	offline: false,
	latency: 150,
	downloadThroughput: (1.6 * 1024 * 1024) / 8,
	uploadThroughput: (750 * 1024) / 8
};

async function startServer() {
	if (process.env.COFFEE_URL) return { url: process.env.COFFEE_URL, stop: async () => {} };
	const bin = path.resolve(process.env.COFFEE_BIN ?? path.join(FRONTEND, '../target/debug/coffee'));
	const dataDir = mkdtempSync(path.join(tmpdir(), 'coffee-measure-'));
	const server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
		stdio: ['ignore', 'pipe', 'inherit']
	});
	const url = await new Promise((resolve, reject) => {
		server.once('exit', () => reject(new Error('coffee exited early')));
		createInterface({ input: server.stdout }).on('line', (line) => {
			const m = /coffee listening on (http:\/\/\S+)/.exec(line);
			if (m) resolve(m[1]);
		});
	});
	return {
		url,
		stop: async () => {
			server.kill('SIGTERM');
			await new Promise((r) => server.once('exit', r));
			rmSync(dataDir, { recursive: true, force: true });
		}
	};
}

async function visit(browser, url) {
	const context = await browser.newContext({ baseURL: new URL(url).origin });
	// A returning customer: the menu, not the name form. Their session (the cookie) is started
	// beforehand, as giving their name on an earlier visit did; the app's hint that it has one
	// is in localStorage.
	await context.request.post('/api/session', { data: { customerName: 'Measure' } });
	await context.addInitScript(() => localStorage.setItem('coffee.session', 'customer'));
	const page = await context.newPage();
	const cdp = await context.newCDPSession(page);
	await cdp.send('Network.enable');
	await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
	await cdp.send('Network.emulateNetworkConditions', THROTTLE);
	const requests = new Map();
	let bytes = 0;
	// data: URLs (inline images in the CSS) are not fetched over the network.
	cdp.on('Network.requestWillBeSent', (e) => {
		if (!e.request.url.startsWith('data:')) requests.set(e.requestId, { url: e.request.url });
	});
	cdp.on('Network.responseReceived', (e) => {
		const r = requests.get(e.requestId);
		if (r) r.encoding = e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? '';
	});
	cdp.on('Network.loadingFinished', (e) => {
		const r = requests.get(e.requestId);
		if (!r) return;
		bytes += e.encodedDataLength;
		r.bytes = e.encodedDataLength;
	});
	await page.goto(url, { waitUntil: 'load' });
	await page.waitForTimeout(1500);
	const timing = await page.evaluate(() => {
		const fcp = performance.getEntriesByName('first-contentful-paint')[0];
		const nav = performance.getEntriesByType('navigation')[0];
		return {
			firstContentfulPaintMs: fcp ? Math.round(fcp.startTime) : null,
			domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd),
			loadMs: Math.round(nav.loadEventEnd)
		};
	});
	await context.close();
	const files = [...requests.values()].filter((r) => r.bytes !== undefined);
	return { bytes, requests: files.length, ...timing, files };
}

const median = (xs) => {
	const s = xs.filter((x) => x !== null).toSorted((a, b) => a - b);
	return s.length ? s[Math.floor(s.length / 2)] : null;
};

const server = await startServer();
const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking']
});
const pages = {};
try {
	for (const pathname of PAGES) {
		const runs = [];
		for (let i = 0; i < RUNS; i++) runs.push(await visit(browser, new URL(pathname, server.url).href));
		pages[pathname] = {
			bytesTransferred: median(runs.map((r) => r.bytes)),
			requests: median(runs.map((r) => r.requests)),
			firstContentfulPaintMs: median(runs.map((r) => r.firstContentfulPaintMs)),
			domContentLoadedMs: median(runs.map((r) => r.domContentLoadedMs)),
			loadMs: median(runs.map((r) => r.loadMs)),
			files: runs[0].files.map((f) => ({
				url: new URL(f.url).pathname,
				bytes: f.bytes,
				encoding: f.encoding ?? ''
			}))
		};
	}
} finally {
	await browser.close();
	await server.stop();
}
const result = {
	label,
	measuredAt: new Date().toISOString(),
	network: { downKbps: 1600, upKbps: 750, rttMs: 150, cache: 'disabled (cold visit)' },
	runsPerPage: RUNS,
	pages
};
const out = path.resolve(FRONTEND, '../artifacts', `perf-${label}.json`);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
for (const [p, r] of Object.entries(pages)) {
	console.log(
		`${label} ${p.padEnd(9)} ${String(r.bytesTransferred).padStart(7)} B  ${String(r.requests).padStart(2)} requests  FCP ${r.firstContentfulPaintMs} ms  load ${r.loadMs} ms`
	);
}
console.log(`wrote ${path.relative(process.cwd(), out)}`);
