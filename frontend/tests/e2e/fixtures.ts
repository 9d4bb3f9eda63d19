// What every browser test shares: the server's URL, the staff's logins (made by the global
// setup with `coffee staff add`), pages that record console errors and warnings (a test fails if
// any page logged one), and screenshots into artifacts/playwright/.
import { test as base, expect, type BrowserContext, type BrowserContextOptions, type Page } from '@playwright/test';
import path from 'node:path';
import { STAFF_ENV, type StaffLogin } from './servers';

const SCREENSHOTS = path.resolve(import.meta.dirname, '../../../artifacts/playwright');

export type OpenOptions = BrowserContextOptions & {
	/** Console errors this page is expected to log (a 404 page logs the 404). */
	expectedConsole?: RegExp;
	/** Sign in on the page's login form first, as this member of staff (a staff page). */
	as?: StaffLogin;
	/** Prepares the page's browser context before the page opens (routes another host's URLs). */
	prepare?: (context: BrowserContext) => Promise<void>;
};

export type Staff = Record<'barista' | 'admin', StaffLogin>;

/** The logins the global setup made. */
export function staffLogins(): Staff {
	const text = process.env[STAFF_ENV];
	if (!text) throw new Error(`${STAFF_ENV} is not set: global setup did not create the staff`);
	return JSON.parse(text) as Staff;
}

/** Signs in on a staff page's login form and waits until the page says who is signed in. */
export async function signIn(page: Page, login: StaffLogin): Promise<void> {
	await page.getByLabel('Name', { exact: true }).fill(login.name);
	await page.getByLabel('Password', { exact: true }).fill(login.password);
	await page.getByRole('button', { name: 'Sign in' }).click();
	await expect(page.getByTestId('staff-who')).toContainText(login.name);
}

export interface App {
	/** A page in a browser context of its own (its own localStorage: another person). */
	open(pathname: string, options?: OpenOptions): Promise<Page>;
	/** Saves a full-page screenshot named after the spec file and the step. */
	screenshot(page: Page, step: string): Promise<void>;
}

export const test = base.extend<{ app: App; staff: Staff }>({
	staff: async ({}, use) => {
		await use(staffLogins());
	},
	baseURL: async ({}, use) => {
		const url = process.env.COFFEE_URL;
		if (!url) throw new Error('COFFEE_URL is not set: global setup did not start the server');
		await use(url);
	},
	app: async ({ browser, baseURL }, use, testInfo) => {
		serverStopped = false;
		const errors: string[] = [];
		const pages: Page[] = [];
		const spec = path.basename(testInfo.file, '.spec.ts');
		await use({
			async open(pathname, { expectedConsole, as, prepare, ...options } = {}) {
				const context = await browser.newContext({ baseURL, ...options });
				await prepare?.(context);
				const page = await context.newPage();
				const who = `page ${pages.length + 1} (${pathname})`;
				page.on('console', (message) => {
					// While the server is stopped on purpose (the recovery test), the browser reports
					// each refused connection; that is the outage, not a fault of the app.
					if (serverStopped && /ERR_CONNECTION_REFUSED|WebSocket connection to .* failed/.test(message.text())) return;
					if (expectedConsole?.test(message.text())) return;
					if (message.type() === 'error' || message.type() === 'warning') {
						errors.push(`${who} console ${message.type()}: ${message.text()}`);
					}
				});
				page.on('pageerror', (error) => errors.push(`${who} page error: ${error.message}`));
				pages.push(page);
				await page.goto(pathname);
				if (as) await signIn(page, as);
				return page;
			},
			async screenshot(page, step) {
				await page.screenshot({ path: path.join(SCREENSHOTS, `${spec}--${step}.png`), fullPage: true });
			}
		});
		for (const page of pages) await page.context().close();
		expect(errors, 'errors and warnings in the browser console').toEqual([]);
	}
});

/** Whether a test stopped the server (see `stopServer`): refused connections are expected then. */
let serverStopped = false;

async function control(action: 'stop' | 'start'): Promise<void> {
	const url = process.env.COFFEE_CONTROL_URL;
	if (!url) throw new Error('COFFEE_CONTROL_URL is not set: the server is not this run\'s to stop (run without COFFEE_URL)');
	const response = await fetch(`${url}/${action}`, { method: 'POST' });
	if (!response.ok) throw new Error(`${action} the server: HTTP ${response.status} ${await response.text()}`);
}

/** Stops the server the global setup started (same port and data directory on `startServer`). */
export async function stopServer(): Promise<void> {
	serverStopped = true;
	await control('stop');
}

export async function startServer(): Promise<void> {
	await control('start');
}

export { expect };
