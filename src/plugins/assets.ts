import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';
import { fileURLToPath } from 'node:url';

/**
 * The pages' stylesheets, scripts and images, served by the app itself (no CDN: the service works
 * offline and its Content-Security-Policy allows only its own origin). Names are not fingerprinted,
 * so browsers keep them for an hour only.
 */
export default fp(
  async (app) => {
    await app.register(fastifyStatic, {
      root: fileURLToPath(new URL('../assets/', import.meta.url)),
      prefix: '/assets/',
      maxAge: '1h',
      // No directory listings, no dotfiles, no index.html.
      index: false,
      list: false,
      dotfiles: 'deny',
      // decorateReply: routes of the service do not send files.
      decorateReply: false,
    });
  },
  { name: 'assets' },
);
