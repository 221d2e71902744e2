import { createServer } from 'node:http';
import { CEILING_BODY } from './nginx-config.ts';

// The least any Node.js app can do per request: node:http answering a fixed body, with the
// app's keep-alive settings. Behind the same nginx it shows what Node itself costs here.
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  response.end(CEILING_BODY);
});
server.keepAliveTimeout = 75_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
