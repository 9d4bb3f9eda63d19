// One definition of each thing: guards against copies coming back.
import { expect, test } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sources(dir = SRC): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const full = path.join(dir, entry.name);
		if (entry.isDirectory()) return sources(full);
		return /\.(ts|svelte)$/.test(entry.name) ? [full] : [];
	});
}
const relative = (file: string) => path.relative(SRC, file);

test('the API types are not written by hand beside the generated ones', () => {
	for (const file of sources().filter((f) => !f.endsWith('schema.generated.ts'))) {
		const text = readFileSync(file, 'utf8');
		expect(text, relative(file)).not.toMatch(/export (interface|type) (Coffee|Order|Payment|Fulfilment|TimelineEvent) (\{|=\s*\{)/);
		expect(text, relative(file)).not.toMatch(/'ORDER_CREATED'\s*\|\s*'/);
	}
});

test('newer versions of records are chosen in one place (lists.ts)', () => {
	for (const file of sources().filter((f) => !f.endsWith('lib/lists.ts'))) {
		expect(readFileSync(file, 'utf8'), relative(file)).not.toMatch(/\.updatedAt\s*[<>]=?\s*\w+\.updatedAt/);
	}
});

test('the admin’s tables are one component', () => {
	// Lists of records are RecordTable's; the day's figures are sums, their tables of another shape.
	const tables = sources().filter((f) => /<table\b/.test(readFileSync(f, 'utf8')));
	expect(tables.map(relative).sort()).toEqual(['lib/components/DayFigures.svelte', 'lib/components/RecordTable.svelte']);
	const admin = readFileSync(path.join(SRC, 'routes/(staff)/admin/+page.svelte'), 'utf8');
	expect(admin.match(/<RecordTable\b/g)).toHaveLength(3);
});
