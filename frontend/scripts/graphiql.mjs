// Copies GraphiQL and the React it runs on (pinned in package.json) from node_modules into
// static/graphiql/vendor/, so the build embeds them in the binary and `coffee serve --dev`
// serves GraphiQL with no CDN and no internet. Run by `npm run build`.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const vendor = path.join(root, 'static/graphiql/vendor');
const files = [
	'react/umd/react.production.min.js',
	'react-dom/umd/react-dom.production.min.js',
	'graphiql/graphiql.min.js',
	'graphiql/graphiql.min.css'
];
mkdirSync(vendor, { recursive: true });
for (const file of files) {
	const from = path.join(root, 'node_modules', file);
	if (!existsSync(from)) {
		console.error(`graphiql: ${from} is missing: run npm ci in frontend/`);
		process.exit(1);
	}
	copyFileSync(from, path.join(vendor, path.basename(file)));
}
