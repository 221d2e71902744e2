/**
 * A member of the stack's `web` upstream that fails the way a replica killed at the worst moment
 * does: it passes each request on to a real replica (TARGET, host:port), waits for the replica's
 * whole answer, which means the visit was counted, and then closes the client's connection
 * without answering. nginx sees the upstream close prematurely and retries on another replica
 * with the same Idempotency-Key. Each request is printed as one JSON line: the headers nginx sent
 * and what the replica answered.
 *
 * Runs by itself in a container of the Node image (no imports from the project, types erased by
 * Node): `node /drop-after-reply.ts`, listening on port 3000 like a replica.
 */
import { createServer, request } from 'node:http';

const [host = '', port = '3000'] = (process.env.TARGET ?? '').split(':');
if (!host) throw new Error('TARGET=host:port is required');

const server = createServer((incoming, outgoing) => {
  const forwarded = request(
    { host, port: Number(port), method: incoming.method, path: incoming.url, headers: incoming.headers },
    (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        process.stdout.write(
          `${JSON.stringify({
            url: incoming.url,
            idempotencyKey: incoming.headers['idempotency-key'] ?? null,
            requestId: incoming.headers['x-request-id'] ?? null,
            status: answer.statusCode,
            body: Buffer.concat(chunks).toString('utf8'),
          })}\n`,
        );
        // The replica has answered (and counted); the client gets nothing.
        outgoing.socket?.destroy();
      });
    },
  );
  forwarded.on('error', (error) => {
    process.stdout.write(`${JSON.stringify({ url: incoming.url, error: error.message })}\n`);
    outgoing.socket?.destroy();
  });
  incoming.pipe(forwarded);
});
server.listen(3000, '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));
