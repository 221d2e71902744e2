// Plain JavaScript, as the app runs in its image (dist/, npm run build): Node loads its TypeScript
// stripper for a .ts file, which would add its memory to the floor.
import { createServer } from 'node:http';
import process from 'node:process';

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
