// Accessibility checks with axe-core: a page in a given state has no serious or critical
// violation of WCAG 2.1 A/AA (and axe's best practices). Every check also writes what axe found,
// of any impact, to artifacts/axe/<state>.json, with the contrast ratios it measured (of the
// failures, and the five lowest that passed).
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const OUT = path.resolve(import.meta.dirname, '../../../artifacts/axe');

interface Found {
	rule: string;
	impact: string | null | undefined;
	help: string;
	nodes: { target: string; contrast?: string; summary: string }[];
}

interface ContrastData {
	contrastRatio?: number;
	expectedContrastRatio?: string;
	fgColor?: string;
	bgColor?: string;
}

/** `within`: a CSS selector, to check one part of the page (the rest may be another test's). */
export async function audit(page: Page, within?: string): Promise<{ violations: Found[]; lowestContrast: string[] }> {
	const builder = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']);
	const results = await (within ? builder.include(within) : builder).analyze();
	// The text that passed with the least room: the figures behind "no contrast failure".
	const lowestContrast = (results.passes.find((p) => p.id === 'color-contrast')?.nodes ?? [])
		.map((n) => ({ target: n.target.join(' '), data: n.any[0]?.data as ContrastData | undefined }))
		.filter((n) => n.data?.contrastRatio)
		.toSorted((a, b) => a.data!.contrastRatio! - b.data!.contrastRatio!)
		.slice(0, 5)
		.map((n) => `${n.data!.contrastRatio}:1 ${n.data!.fgColor} on ${n.data!.bgColor}: ${n.target}`);
	const violations = results.violations.map((v) => ({
		rule: v.id,
		impact: v.impact,
		help: v.help,
		nodes: v.nodes.map((n) => {
			const data = n.any.find((c) => c.id === 'color-contrast')?.data as ContrastData | undefined;
			return {
				target: n.target.join(' '),
				contrast: data?.contrastRatio
					? `${data.contrastRatio}:1 (needs ${data.expectedContrastRatio}; ${data.fgColor} on ${data.bgColor})`
					: undefined,
				summary: n.failureSummary ?? ''
			};
		})
	}));
	return { violations, lowestContrast };
}

/** Fails on any serious or critical violation on `page` (or its part `within`) as it is now, named `state`. */
export async function expectAccessible(page: Page, state: string, within?: string): Promise<void> {
	const { violations, lowestContrast } = await audit(page, within);
	mkdirSync(OUT, { recursive: true });
	writeFileSync(path.join(OUT, `${state}.json`), JSON.stringify({ violations, lowestContrast }, null, 2) + '\n');
	const serious = violations.filter((f) => f.impact === 'serious' || f.impact === 'critical');
	expect(
		serious.map((f) => `${f.rule} (${f.impact}): ${f.help}: ${f.nodes.map((n) => n.contrast ?? n.target).join(', ')}`),
		`accessibility of ${state}`
	).toEqual([]);
}
