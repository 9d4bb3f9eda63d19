// The API's TypeScript types are generated from schema.graphql: the committed file must be what
// the schema generates now (`npm run check` fails too), and the generator must notice a change.
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { generate, OUTPUT, SCHEMA } from '../../scripts/gen-types.mjs';

test('schema.generated.ts is what schema.graphql generates', () => {
	const schema = readFileSync(SCHEMA, 'utf8');
	expect(readFileSync(OUTPUT, 'utf8')).toBe(generate(schema));
});

test('a change of the schema changes the generated types', () => {
	const schema = readFileSync(SCHEMA, 'utf8');
	const renamed = generate(schema.replace('customerName: String!', 'customerFullName: String!'));
	expect(renamed).not.toBe(generate(schema));
	expect(renamed).toContain('customerFullName: string;');
	const moreStatuses = generate(
		schema.replace('FULFILMENT_CREATED, FULFILMENT_COMPLETED or FULFILMENT_REJECTED.', 'FULFILMENT_CREATED, FULFILMENT_COMPLETED, FULFILMENT_LOST or FULFILMENT_REJECTED.')
	);
	expect(moreStatuses).toContain("'FULFILMENT_LOST'");
});
