import fp from 'fastify-plugin';
import type { LiveActivity } from '../live/activity.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** This replica's side of the live features (live/activity.ts). */
    live: LiveActivity;
  }
}

/**
 * Starts the replica's reports and its subscription to counter changes; counts every request it
 * answers (the load the operator's dashboard shows). Stops them, with a last report, on close.
 */
export default fp<{ activity: LiveActivity }>(
  async (app, { activity }) => {
    app.decorate('live', activity);
    // Callback style: an async hook costs a promise and a microtask on every request.
    app.addHook('onResponse', (_request, _reply, done) => {
      activity.served();
      done();
    });
    await activity.start();
    app.addHook('onClose', async () => {
      await activity.stop();
    });
  },
  { name: 'live', dependencies: ['counter-store'] },
);
