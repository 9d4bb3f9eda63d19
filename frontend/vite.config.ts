import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';

export default defineConfig({
	plugins: [tailwindcss(), sveltekit()],
	build: {
		// SvelteKit's adapter runs inside the bundler's last hook, which rolldown then reports as a
		// slow plugin on every build; that report is noise here.
		rolldownOptions: { checks: { bundlerTimings: false } }
	},
	server: {
		// `npm run dev` talks to a `coffee serve` running on its default port.
		proxy: {
			'/graphql': { target: 'http://127.0.0.1:8080', ws: true }
		}
	}
});
