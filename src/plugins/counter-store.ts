import fp from 'fastify-plugin';
import type { CounterStore } from '../store/counter-store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    counters: CounterStore;
  }
}

/** Makes the counter store available to the API routes and closes it once the server has drained. */
export default fp<{ store: CounterStore }>(
  async (app, { store }) => {
    app.decorate('counters', store);
    app.addHook('onClose', async () => {
      await store.close();
    });
  },
  { name: 'counter-store' },
);
