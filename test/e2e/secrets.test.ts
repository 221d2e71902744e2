import assert from 'node:assert/strict';
import { chownSync, statSync } from 'node:fs';
import { it } from 'node:test';
import { ComposeStack } from '../helpers/compose.ts';
import { ACCEPT, get } from '../helpers/http.ts';
import { runOk } from '../helpers/run.ts';
import { redisCli } from '../helpers/stack-redis.ts';
import { describeStack } from '../helpers/stack-suite.ts';

const inspect = async (id: string): Promise<Record<string, unknown>> => {
  const parsed = JSON.parse(await runOk('docker', ['inspect', id])) as Record<string, unknown>[];
  return parsed[0] ?? {};
};
const asRecord = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {});

/** The password redis-secrets wrote, as Redis reads it. */
const stackPassword = async (stack: ComposeStack): Promise<string> => (await stack.exec('redis', ['cat', '/secrets/redis_password'])).trim();

/** Counts one visit through nginx; resolves with the count shown. */
const countOnce = async (stack: ComposeStack): Promise<number> => {
  const res = await get(`${stack.base}/count`, ACCEPT.json);
  assert.equal(res.status, 200, res.body);
  return (JSON.parse(res.body) as { count: number }).count;
};

describeStack(
  'a stack started without REDIS_PASSWORD_FILE: a random Redis password',
  import.meta.filename,
  (stack) => {
    it('counts end to end, with a random password made by redis-secrets', async () => {
      assert.equal(await countOnce(stack), 1);
      const password = await stackPassword(stack);
      assert.match(password, /^[0-9a-f]{64}$/);
      assert.match(await redisCli(stack, ['PING']), /PONG/);
      const logs = await stack.compose(['logs', '--no-color', 'redis-secrets']);
      assert.match(logs, /wrote a new random Redis password/);
    });

    it('the password is in no container environment and no image configuration', async () => {
      const password = await stackPassword(stack);
      const containers = await stack.containers();
      assert.deepEqual([...new Set(containers.map((c) => c.service))].sort(), ['nginx', 'redis', 'redis-secrets', 'web']);
      const images = new Set<string>();
      for (const container of containers) {
        const info = await inspect(container.id);
        assert.ok(!JSON.stringify(asRecord(info.Config)).includes(password), `${container.service}: not in its configuration`);
        images.add(String(info.Image));
      }
      for (const image of images) assert.ok(!(await runOk('docker', ['image', 'inspect', image])).includes(password), `image ${image}`);
    });

    it('redis-secrets ran once and exited 0: read-only root, all capabilities dropped but DAC_READ_SEARCH, no-new-privileges, no network', async () => {
      const [container] = await stack.containers('redis-secrets');
      assert.ok(container);
      assert.equal(container.running, false);
      assert.equal(container.exitCode, 0);
      const host = asRecord((await inspect(container.id)).HostConfig);
      assert.equal(host.ReadonlyRootfs, true);
      assert.deepEqual(host.CapDrop, ['ALL']);
      assert.deepEqual((host.CapAdd as string[]).map((cap) => cap.replace(/^CAP_/, '')), ['DAC_READ_SEARCH']);
      assert.ok((host.SecurityOpt as string[]).includes('no-new-privileges:true'));
      assert.equal(host.NetworkMode, 'none');
      assert.deepEqual(asRecord(host.RestartPolicy).Name, 'no');
    });

    it('keeps the password at the next `up`, and the count with it', async () => {
      const before = await stackPassword(stack);
      await stack.up();
      assert.equal(await stackPassword(stack), before);
      const logs = await stack.compose(['logs', '--no-color', 'redis-secrets']);
      assert.match(logs, /keeping the random Redis password/);
      assert.equal(await countOnce(stack), 2);
    });

    it('a second project gets another password', async () => {
      const other = new ComposeStack({}, { ownPassword: false });
      try {
        await other.compose(['up', '--build', 'redis-secrets'], 5 * 60_000);
        const volume = `${other.project}_redis_secrets`;
        const otherPassword = (await runOk('docker', ['run', '--rm', '--network', 'none', '--volume', `${volume}:/secrets:ro`, '--entrypoint', 'cat', `${other.project}-redis-secrets`, '/secrets/redis_password'])).trim();
        assert.match(otherPassword, /^[0-9a-f]{64}$/);
        assert.notEqual(otherPassword, await stackPassword(stack));
      } finally {
        await other.compose(['down', '--volumes', '--remove-orphans', '--rmi', 'local'], 3 * 60_000);
      }
    });

    it('every service logs to json-file with rotation (max-size 10m, max-file 3)', async () => {
      for (const container of await stack.containers()) {
        const log = asRecord(asRecord((await inspect(container.id)).HostConfig).LogConfig);
        assert.equal(log.Type, 'json-file', container.service);
        assert.deepEqual(log.Config, { 'max-size': '10m', 'max-file': '3' }, container.service);
      }
    });
  },
  { options: { ownPassword: false } },
);

describeStack(
  "an operator's own password file, mode 0600, ending in CRLF and blank lines",
  import.meta.filename,
  (stack) => {
    it('wins over the random one, though only its owner (uid 4321 when the tests run as root) may read it: Redis and the app use it, the app counts', async () => {
      assert.equal(await countOnce(stack), 1);
      assert.equal((await stackPassword(stack)).replace(/[\r\n]+$/, ''), stack.password);
      // As the app's user with exactly that password, line ends stripped.
      const pong = await stack.exec('redis', ['sh', '-c', 'REDISCLI_AUTH="$1" exec redis-cli --user counter --no-auth-warning PING', 'sh', stack.password]);
      assert.match(pong, /PONG/);
      const logs = await stack.compose(['logs', '--no-color', 'redis-secrets']);
      assert.match(logs, /wrote the Redis password from its own file/);
    });
  },
  {
    options: { passwordFileMode: 0o600, passwordFileEnd: '\r\n\r\n' },
    // Owned by someone else than any container's user (as an operator's file is), not only 0600.
    beforeUp: async (stack) => {
      if (process.getuid?.() === 0) chownSync(stack.passwordFile, 4321, 4321);
      assert.equal(statSync(stack.passwordFile).mode & 0o777, 0o600);
    },
  },
);
