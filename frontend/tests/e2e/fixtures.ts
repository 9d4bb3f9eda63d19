// What every browser test shares: the server's URL, pages that record console errors and
// warnings (a test fails if any page logged one), and screenshots into artifacts/playwright/.
import { test as base, expect, type Page } from '@playwright/test';
import path from 'node:path';

const SCREENSHOTS = path.resolve(import.meta.dirname, '../../../artifacts/playwright');

export interface App {
	/** A page in a browser context of its own (its own localStorage: another person). */
	open(pathname: string): Promise<Page>;
	/** Saves a full-page screenshot named after the spec file and the step. */
	screenshot(page: Page, step: string): Promise<void>;
}

export const test = base.extend<{ app: App }>({
	baseURL: async ({}, use) => {
		const url = process.env.COFFEE_URL;
		if (!url) throw new Error('COFFEE_URL is not set: global setup did not start the server');
		await use(url);
	},
	app: async ({ browser, baseURL }, use, testInfo) => {
		const errors: string[] = [];
		const pages: Page[] = [];
		const spec = path.basename(testInfo.file, '.spec.ts');
		await use({
			async open(pathname) {
				const context = await browser.newContext({ baseURL });
				const page = await context.newPage();
				const who = `page ${pages.length + 1} (${pathname})`;
				page.on('console', (message) => {
					if (message.type() === 'error' || message.type() === 'warning') {
						errors.push(`${who} console ${message.type()}: ${message.text()}`);
					}
				});
				page.on('pageerror', (error) => errors.push(`${who} page error: ${error.message}`));
				pages.push(page);
				await page.goto(pathname);
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

export { expect };
