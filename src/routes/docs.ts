import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/** Swagger UI's prebuilt files (swagger-ui-dist), of which the page needs these two. */
const SWAGGER_UI = dirname(fileURLToPath(import.meta.resolve('swagger-ui-dist/swagger-ui-bundle.js')));
const SWAGGER_UI_FILES = new Set(['/swagger-ui-bundle.js', '/swagger-ui.css']);

// Swagger UI's bundle and stylesheet are its own; the page's settings (/assets/docs.js: the
// document is /openapi.json, no validator badge from another site, dark when the reader's system
// is) and the few style fixes (/assets/docs.css) are the service's. No inline script or style, so
// the service's Content-Security-Policy applies unchanged.
const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui/swagger-ui.css">
<link rel="stylesheet" href="/assets/docs.css">
<script src="/docs/swagger-ui/swagger-ui-bundle.js" defer></script>
<script src="/assets/docs.js" defer></script>
<title>Counting API – Visit counter</title>
</head>
<body>
<header class="docs-header">
<a href="/">Visit counter</a>
<a href="/openapi.json">OpenAPI document</a>
</header>
<main id="swagger-ui">
<noscript><p class="docs-noscript">This page needs JavaScript to show the API. The same is in the <a href="/openapi.json">OpenAPI document</a>.</p></noscript>
</main>
</body>
</html>
`;

/** GET /docs: the counting API for people, Swagger UI rendering /openapi.json, all served from here. */
const docs: FastifyPluginAsync = async (app) => {
  app.get('/docs', async (_request, reply) => {
    reply.type('text/html; charset=utf-8');
    return DOCS_PAGE;
  });
  await app.register(fastifyStatic, {
    root: SWAGGER_UI,
    prefix: '/docs/swagger-ui/',
    // Only the two files the page loads: not the package's demo index.html, its initializer
    // pointing at the Petstore, its source maps or its OAuth redirect page.
    allowedPath: (path) => SWAGGER_UI_FILES.has(path),
    maxAge: '1h',
    index: false,
    list: false,
    dotfiles: 'deny',
    decorateReply: false,
  });
};

export default docs;
