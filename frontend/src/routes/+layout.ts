// A single-page app: everything renders in the browser, the Rust server only serves files and /graphql.
export const ssr = false;
