// The API documentation (/docs): Swagger UI (loaded before this, from /docs/swagger-ui/) renders
// the service's own OpenAPI document.
'use strict';

const darkScheme = window.matchMedia('(prefers-color-scheme: dark)');
// Swagger UI's stylesheet has a dark theme under html.dark-mode: follow the reader's system.
const followScheme = () => {
  document.documentElement.classList.toggle('dark-mode', darkScheme.matches);
};
followScheme();
darkScheme.addEventListener('change', followScheme);

window.SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  // Swagger UI's default would show a badge from validator.swagger.io (in its standalone layout):
  // no other site is asked for anything.
  validatorUrl: null,
  // Links to each operation would nest a link in the operation's button (axe-core: nested-interactive).
  deepLinking: false,
  // No top bar: its box for loading another document has no use here.
  layout: 'BaseLayout',
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
});
