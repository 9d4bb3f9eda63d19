// Starts GraphiQL on this server's /graphql (queries over HTTP, subscriptions over WebSocket).
// A separate file, not an inline script, so the page's policy can allow scripts from 'self' only.
// `?query=...` opens with that query in the editor.
const http = new URL('/graphql', window.location.origin);
const ws = new URL('/graphql', window.location.origin);
ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
const query = new URLSearchParams(window.location.search).get('query') ?? undefined;
ReactDOM.createRoot(document.getElementById('graphiql')).render(
	React.createElement(GraphiQL, {
		fetcher: GraphiQL.createFetcher({ url: http.toString(), subscriptionUrl: ws.toString() }),
		defaultQuery: query,
		defaultEditorToolsVisibility: true
	})
);
