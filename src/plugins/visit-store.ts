import fp from 'fastify-plugin';
import type { VisitStore } from '../visit-store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    visits: VisitStore;
  }
}

/** Makes the store available to routes and closes it once the server has drained. */
export default fp<{ store: VisitStore }>(
  async (app, { store }) => {
    app.decorate('visits', store);
    app.addHook('onClose', async () => {
      await store.close();
    });
  },
  { name: 'visit-store' },
);
