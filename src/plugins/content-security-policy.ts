import fp from 'fastify-plugin';

/**
 * What a page of this service may load: its own scripts, styles, images and streams, nothing from
 * another origin, no inline script or style, no framing. A response that needs another policy (the
 * badge SVG, with its inline styles) sets its own header, which replaces this one.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export default fp(
  async (app) => {
    // Callback style: an async hook costs a promise and a microtask on every request.
    app.addHook('onRequest', (_request, reply, done) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      done();
    });
  },
  { name: 'content-security-policy' },
);
