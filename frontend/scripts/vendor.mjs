// Copies the tools the server shows beside the web app (pinned in package.json) from
// node_modules into static/, so the build embeds them in the binary and they work with no CDN
// and no internet: GraphiQL and the React it runs on (`coffee serve --dev`, at /graphql) and
// Swagger UI (/api/docs, over /api/openapi.json). Run by `npm run build`.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const tools = {
	'static/graphiql/vendor': [
		'react/umd/react.production.min.js',
		'react-dom/umd/react-dom.production.min.js',
		'graphiql/graphiql.min.js',
		'graphiql/graphiql.min.css'
	],
	'static/api-docs/vendor': ['swagger-ui-dist/swagger-ui-bundle.js', 'swagger-ui-dist/swagger-ui.css']
};
for (const [dir, files] of Object.entries(tools)) {
	const vendor = path.join(root, dir);
	mkdirSync(vendor, { recursive: true });
	for (const file of files) {
		const from = path.join(root, 'node_modules', file);
		if (!existsSync(from)) {
			console.error(`vendor: ${from} is missing: run npm ci in frontend/`);
			process.exit(1);
		}
		copyFileSync(from, path.join(vendor, path.basename(file)));
	}
}
