// Starts Swagger UI on this server's OpenAPI document. A separate file, not an inline script,
// so the page's policy can allow scripts from 'self' only. "Try it out" calls this server with
// the browser's session cookie, as the web app does.
window.ui = SwaggerUIBundle({
	url: '/api/openapi.json',
	dom_id: '#swagger-ui',
	deepLinking: true,
	withCredentials: true
});
