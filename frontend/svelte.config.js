import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// Every page is prerendered into its own HTML file (see src/routes/+layout.ts), served by the
		// Rust server for its path; any other path gets 404.html, with status 404, whose script shows
		// the app's "not found" page. `precompress` writes a .br and a .gz copy of each text file,
		// which the server sends to browsers that accept them.
		adapter: adapter({ pages: 'build', assets: 'build', fallback: '404.html', precompress: true, strict: true }),
		// Absolute asset paths: the same 404.html answers for any unknown path, however deep.
		paths: { relative: false },
		// One script and one stylesheet for the whole app instead of ~20 chunks: on a slow network
		// each request costs a round trip, and the whole app is ~50 kB compressed.
		output: { bundleStrategy: 'single' },
		// A content security policy in each prerendered page, with the hash of its inline
		// bootstrap script: no other script runs, whatever gets into a page. The build cannot know
		// who takes the card, so Stripe's hosts (Stripe.js, its frames, its API, as Stripe's
		// security guide lists them) are allowed here, and the server's header policy, which a
		// page obeys as well, takes them away unless the payment provider is Stripe
		// (crates/coffee/src/page_policy.rs). The header also adds `frame-ancestors 'none'` and
		// the rest that only a header can carry.
		csp: {
			mode: 'hash',
			directives: {
				'default-src': ['self'],
				'script-src': ['self', 'https://js.stripe.com', 'https://*.js.stripe.com'],
				'style-src': ['self', 'unsafe-inline'],
				'img-src': ['self', 'data:'],
				'connect-src': ['self', 'https://api.stripe.com'],
				'frame-src': ['https://js.stripe.com', 'https://*.js.stripe.com', 'https://hooks.stripe.com'],
				'object-src': ['none'],
				'base-uri': ['self'],
				'form-action': ['self']
			}
		},
		// `npm run check` type-checks the browser tests' config too.
		typescript: {
			config: (config) => {
				config.include.push('../playwright.config.ts');
			}
		}
	}
};

export default config;
