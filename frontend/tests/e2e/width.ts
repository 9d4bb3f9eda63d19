// The one check that a page fits its viewport's width: nothing sticks out to the right, so the
// page never scrolls sideways (a box of its own may, such as a wide chart).
import { expect, type Page } from '@playwright/test';

export async function expectNoSidewaysScroll(page: Page, state: string, width = 390): Promise<void> {
	const { scrollWidth, widest } = await page.evaluate(() => {
		let widest = '';
		let right = 0;
		for (const el of document.body.querySelectorAll('*')) {
			const r = el.getBoundingClientRect();
			if (r.width > 0 && r.right > right) {
				right = r.right;
				widest = `${el.tagName.toLowerCase()}.${el.className} (${Math.round(r.right)} px)`;
			}
		}
		return { scrollWidth: document.documentElement.scrollWidth, widest };
	});
	expect(scrollWidth, `${state}: the page is ${scrollWidth} px wide; widest ${widest}`).toBeLessThanOrEqual(width);
}
