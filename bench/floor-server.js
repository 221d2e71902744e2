// Plain JavaScript, as the app runs in its image (dist/, npm run build): Node loads its TypeScript
// stripper for a .ts file, which would add its memory to the floor.
import process from 'node:process';

// As the app's metrics server does: an ES module import of node:http would load Node's bundled
// undici, which neither needs; the floor would carry it (idle RSS 68 → 53 MiB without it).
const { createServer } = process.getBuiltinModule('node:http');

// The least any Node.js app can do per request: node:http answering the body the ceiling's upstream
// answers (bench/fixed-body.conf.template), with the app's keep-alive timeout.
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  response.end('Total visits: 1234567\n');
});
server.keepAliveTimeout = 75_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
