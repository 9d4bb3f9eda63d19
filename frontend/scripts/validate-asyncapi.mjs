// Validates an AsyncAPI document with the AsyncAPI initiative's own parser (@asyncapi/parser,
// pinned in package.json): the specification's JSON Schema and its rules. Any error fails;
// warnings are printed. Run by scripts/test on docs/asyncapi.json (`coffee asyncapi` makes it).
import { readFileSync } from 'node:fs';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const file = process.argv[2];
if (!file) {
	console.error('usage: node scripts/validate-asyncapi.mjs FILE');
	process.exit(2);
}
const { document, diagnostics } = await new Parser().parse(readFileSync(file, 'utf8'));
const severity = ['error', 'warning', 'information', 'hint'];
for (const d of diagnostics) {
	console.log(`${file}: ${severity[d.severity] ?? d.severity}: ${d.message} at /${d.path.join('/')}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
if (!document || errors.length > 0) {
	console.error(`${file}: ${errors.length} error(s): not a valid AsyncAPI document`);
	process.exit(1);
}
console.log(
	`${file}: valid AsyncAPI ${document.version()}: ${document.channels().length} channels, ` +
		`${document.operations().length} operations, ${document.components().messages().length} messages`
);
