// Each page is prerendered at build time into its own HTML file (adapter-static), so the first
// screen (navigation, headings, "Loading…") shows before the JavaScript runs; in the browser the
// page then hydrates and loads its data from /graphql. Nothing in a page may reach the server or
// the browser's storage while rendering on the server: data loads start in effects.
export const prerender = true;
export const trailingSlash = 'never';
