import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  /** Where it listens, e.g. http://0.0.0.0:9464. */
  url: string;
  /** Stops listening and drops open connections (a scrape in flight is cut). */
  close(): Promise<void>;
}

// Not `import { createServer } from 'node:http'`: an ES module import of node:http builds its whole
// namespace, whose WebSocket and event classes load Node's bundled undici: 1.2 MiB of heap and 2.5 MiB
// of RSS per replica, for nothing the app uses (Fastify requires node:http the CommonJS way).
const { createServer } = process.getBuiltinModule('node:http');

const answer = (response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) => {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(text);
};

/**
 * The replica's metrics in Prometheus' text format at GET /metrics, on a port of its own
 * (METRICS_PORT): compose.yaml does not publish it and nginx does not proxy it, so only the
 * Compose network (Prometheus) reaches it. A plain node:http server: one route, no client input
 * beyond the path, and none of the app's hooks, limits or logs per request.
 */
export const startMetricsServer = async (registry: Registry, { host, port }: { host: string; port: number }, log: FastifyBaseLogger): Promise<MetricsServer> => {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      answer(response, 404, 'Not Found: the metrics are at /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      answer(response, 405, 'Method Not Allowed: /metrics accepts GET, HEAD\n', { allow: 'GET, HEAD' });
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        log.error({ err: error }, 'collecting metrics failed');
        answer(response, 500, 'Internal Server Error\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => {
      // Named, so the log says which of the replica's two ports could not be had.
      reject(new Error(`METRICS_PORT: ${error.message}`));
    };
    server.once('error', failed);
    server.listen({ host, port }, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ url: `${url}/metrics` }, 'metrics listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
};
