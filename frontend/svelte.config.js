import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// A single-page app: the Rust server serves index.html for every unknown non-API path.
		adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
		// `npm run check` type-checks the browser tests' config too.
		typescript: {
			config: (config) => {
				config.include.push('../playwright.config.ts');
			}
		}
	}
};

export default config;
