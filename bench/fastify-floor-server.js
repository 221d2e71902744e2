// The least a Fastify app can do per request: the floor's answer (floor-server.js) from one Fastify
// route, with no logger, hooks or plugins, and the app's keep-alive timeout. Beside the node:http
// floor it shows what the framework itself costs, apart from what the app does.
import Fastify from 'fastify';
import process from 'node:process';

const app = Fastify({ logger: false, keepAliveTimeout: 75_000 });
const answer = (_request, reply) => {
  reply.header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('Total visits: 1234567\n');
};
app.get('/count', answer);
app.get('/readyz', answer); // the harness waits for it, as for the app

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
