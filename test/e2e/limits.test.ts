import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { it } from 'node:test';
import { count, get, isOk, pool } from '../helpers/http.ts';
import { accessLog, assertSecurityHeaders, curlFromContainer, statusesOf } from '../helpers/nginx.ts';
import { readVisits } from '../helpers/stack-redis.ts';
import { describeStack } from '../helpers/stack-suite.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const CONNECTIONS = 4;

/** Tallies curl's one-status-per-line output. */
const tallyCodes = (output: string): Record<string, number> => {
  const seen: Record<string, number> = {};
  for (const code of output.split('\n').filter(Boolean)) seen[code] = (seen[code] ?? 0) + 1;
  return seen;
};

describeStack(
  "nginx's per-client limits (requests and connections)",
  import.meta.filename,
  (stack) => {
    it('rate limit per client on /count: 429 with Retry-After past the burst, rejected requests not counted, / not limited', async () => {
      const before = await readVisits(stack);
      // Fewer at a time than CONNECTIONS: the 429s here are the rate limit's, not limit_conn's.
      const replies = await pool(60, CONNECTIONS - 1, () => count(stack.base));
      const ok = replies.filter(isOk);
      const limited = replies.filter((r) => r.status === 429);
      assert.equal(ok.length + limited.length, replies.length, 'only 200 and 429');
      assert.ok(limited.length > 0, 'some requests were limited');
      assert.ok(ok.length >= 10, `the burst passes (${ok.length})`);
      for (const reply of limited) {
        assert.equal(reply.headers.get('retry-after'), '1');
        assertSecurityHeaders(reply.headers, '429');
      }
      assert.equal(await readVisits(stack), before + ok.length);
      const pages = await pool(60, CONNECTIONS - 1, () => get(`${stack.base}/`));
      assert.ok(pages.every((r) => r.status === 200), '/ is not limited');
    });

    it("rate limit across client addresses: one client's 429s do not throttle another", async () => {
      await sleep(3000); // let the buckets refill
      const url = 'http://nginx:8080/count';
      const tag = `clients-${Date.now()}`;
      // Two containers on the stack's network, two source addresses, at the same time: the first
      // sends 60 requests back to back (burst 10, 5/s), the second 8 (within its own burst).
      const [hammer, quiet] = await Promise.all([
        curlFromContainer(stack, statusesOf(Array.from({ length: 60 }, () => url), [`X-Request-ID: ${tag}-a`])),
        curlFromContainer(stack, statusesOf(Array.from({ length: 8 }, () => url), [`X-Request-ID: ${tag}-b`])),
      ]);
      const a = tallyCodes(hammer);
      const b = tallyCodes(quiet);
      assert.ok((a['429'] ?? 0) > 0, `the hammering client got 429s: ${JSON.stringify(a)}`);
      assert.equal((a['200'] ?? 0) + (a['429'] ?? 0), 60, JSON.stringify(a));
      assert.deepEqual(b, { '200': 8 }, 'the other client was not throttled');
      // nginx saw two addresses on the Compose network, neither the host's.
      const log = await accessLog(stack);
      const remotes = (suffix: string): Set<string> => new Set(log.filter((l) => l.request_id === `${tag}-${suffix}`).map((l) => l.remote));
      const [remoteA, remoteB] = [remotes('a'), remotes('b')];
      assert.equal(remoteA.size, 1, `one address for the first client: ${[...remoteA].join(', ')}`);
      assert.equal(remoteB.size, 1, `one address for the second client: ${[...remoteB].join(', ')}`);
      assert.notDeepEqual(remoteA, remoteB, 'two different source addresses');
    });

    it(`connections per client: past ${CONNECTIONS} requests in progress from one address, 429; another address is unaffected`, async () => {
      const held: Socket[] = [];
      try {
        // Requests in progress: headers of a POST whose body never comes (client_body_timeout
        // would end them after 10 s; the test is done before that).
        for (let i = 0; i < CONNECTIONS; i += 1) {
          const socket = connect(stack.port, '127.0.0.1');
          socket.on('error', () => undefined);
          socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n');
          held.push(socket);
        }
        await sleep(500);
        const refused = await get(`${stack.base}/`);
        assert.equal(refused.status, 429, 'one more from the same address');
        assert.equal(refused.headers.get('retry-after'), '1');
        assertSecurityHeaders(refused.headers, 'limit_conn 429');
        const other = await curlFromContainer(stack, statusesOf(['http://nginx:8080/', 'http://nginx:8080/']));
        assert.deepEqual(tallyCodes(other), { '200': 2 }, 'another address at the same time');
      } finally {
        for (const socket of held) socket.destroy();
      }
      await sleep(500);
      assert.equal((await get(`${stack.base}/`)).status, 200, 'the same address once its connections are gone');
    });
  },
  { env: { RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '10', CONNECTIONS_PER_CLIENT: String(CONNECTIONS) } },
);
