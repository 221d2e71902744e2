// deploy/swarm/stack.yaml (and deploy/swarm/ha.yaml layered on it), checked offline (no Docker engine: DOCKER_HOST points nowhere):
// `docker stack config` (the Docker CLI's own schema and interpolation) accepts it and rejects
// broken copies; no service uses an option that `docker stack deploy` ignores or silently drops;
// and it runs compose.yaml's services with compose.yaml's settings. e2e `swarm` deploys it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describeRun, run } from '../helpers/run.ts';
import { HA_FILE, STACK_FILE } from '../helpers/swarm.ts';


const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE_FILE = join(ROOT, 'compose.yaml');

interface Service {
  image?: string;
  environment?: Record<string, string | null>;
  healthcheck?: { test?: string[] };
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  stop_grace_period?: string;
  deploy?: {
    replicas?: number;
    endpoint_mode?: string;
    placement?: { constraints?: string[] };
    update_config?: { order?: string; failure_action?: string };
    resources?: { limits?: Record<string, string | number> };
  };
  [option: string]: unknown;
}
interface Config {
  services: Record<string, Service>;
}

// Only the defaults of both files: nothing of the caller's environment (HTTP_PORT, ...) leaks in.
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

/** `docker stack config -c FILE [-c FILE...]`: resolves with the exit code, the parsed config (on success) and stderr. */
const stackConfig = async (...files: string[]): Promise<{ code: number | null; config?: Config; stderr: string }> => {
  const result = await run('docker', ['stack', 'config', ...files.flatMap((file) => ['--compose-file', file])], { env: ENV, cwd: ROOT });
  if (result.failure) throw new Error(`${describeRun('docker', ['stack', 'config'], result)}\nThe Swarm checks need a Docker CLI with \`docker stack config\` (25 or newer).`);
  return { code: result.code, stderr: result.stderr, ...(result.code === 0 ? { config: parse(result.stdout) as Config } : {}) };
};

// Options `docker stack deploy` does not apply to a Swarm service: some with a warning, `tmpfs`
// silently (Docker's documentation; measured on Docker 20.10 and CLI 28).
const IGNORED_BY_SWARM = ['build', 'cgroup_parent', 'container_name', 'devices', 'external_links', 'links', 'network_mode', 'restart', 'security_opt', 'tmpfs', 'userns_mode'];

/** Each service option in a rendered stack that Swarm would not apply, as "service: option". */
const ignoredBySwarm = (config: Config): string[] =>
  Object.entries(config.services).flatMap(([name, service]) => IGNORED_BY_SWARM.filter((option) => option in service).map((option) => `${name}: ${option}`));

/** A copy of the stack file (or another) with one edit, in a temporary folder. */
let scratch = '';
const brokenCopy = async (name: string, edit: (text: string) => string, source = STACK_FILE): Promise<string> => {
  const original = await readFile(source, 'utf8');
  const changed = edit(original);
  assert.notEqual(changed, original, `the edit of ${name} changed nothing: the stack file changed, update the test`);
  const file = join(scratch, name);
  await writeFile(file, changed);
  return file;
};

describe('the Swarm stack file (deploy/swarm/stack.yaml), linted offline', () => {
  let stack: Config;
  let compose: Config;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'vc-swarm-lint-'));
    const rendered = await stackConfig(STACK_FILE);
    assert.equal(rendered.code, 0, `docker stack config rejects the stack file:\n${rendered.stderr}`);
    assert.ok(rendered.config);
    stack = rendered.config;
    const composeArgs = ['compose', '--file', COMPOSE_FILE, '--project-directory', ROOT, 'config', '--format', 'json'];
    const result = await run('docker', composeArgs, { env: ENV, cwd: ROOT });
    assert.equal(result.code, 0, describeRun('docker', composeArgs, result));
    compose = JSON.parse(result.stdout) as Config;
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('is accepted by `docker stack config`, with the three services of compose.yaml (its one-shot and monitoring profile aside)', () => {
    assert.deepEqual(Object.keys(stack.services).sort(), ['nginx', 'redis', 'web']);
  });

  it('a broken copy is rejected, naming the mistake: a wrong type, an unknown option, a pids_limit Swarm cannot apply', async () => {
    const cases: [string, (text: string) => string, RegExp][] = [
      ['wrong-type.yaml', (text) => text.replace('replicas: ${WEB_REPLICAS:-3}', 'replicas: three'), /services\.web\.deploy\.replicas must be a integer/],
      ['unknown-option.yaml', (text) => text.replace('      update_config: &start-first', '      update_confg: &start-first'), /Additional property update_confg is not allowed/],
      ['pids-limit.yaml', (text) => text.replace('    stop_grace_period: 10s\n    deploy:\n      replicas: 1', '    pids_limit: 64\n    stop_grace_period: 10s\n    deploy:\n      replicas: 1'), /Additional property pids_limit is not allowed/],
    ];
    for (const [name, edit, error] of cases) {
      const result = await stackConfig(await brokenCopy(name, edit));
      assert.notEqual(result.code, 0, `${name} was accepted`);
      assert.match(result.stderr, error, name);
    }
  });

  it('uses no option that `docker stack deploy` ignores or silently drops (restart, security_opt, tmpfs, build, ...); a copy with a service-level tmpfs is caught', async () => {
    assert.deepEqual(ignoredBySwarm(stack), []);
    // `docker stack config` itself accepts this copy: the check above is what catches it.
    const copy = await stackConfig(await brokenCopy('tmpfs.yaml', (text) => text.replace('    user: "101:101"\n', '    user: "101:101"\n    tmpfs: [/run]\n    restart: unless-stopped\n')));
    assert.equal(copy.code, 0, copy.stderr);
    assert.ok(copy.config);
    assert.deepEqual(ignoredBySwarm(copy.config), ['nginx: restart', 'nginx: tmpfs']);
  });

  it('runs compose.yaml\'s settings: the same environment (only the secrets\' paths and nginx\'s upstream differ), healthchecks, users and limits', () => {
    // What Swarm makes different, on purpose: secrets are files under /run/secrets; nginx follows
    // every task through tasks.web (with endpoint_mode vip, `web` is one virtual IP).
    const swarmOnly: Record<string, Record<string, string>> = {
      web: { REDIS_PASSWORD_FILE: '/run/secrets/redis_password', ADMIN_TOKEN_FILE: '/run/secrets/admin_token' },
      redis: { REDIS_PASSWORD_FILE: '/run/secrets/redis_password' },
      nginx: { WEB_UPSTREAM: 'tasks.web:3000' },
    };
    for (const name of ['web', 'redis', 'nginx']) {
      const inStack = stack.services[name];
      const inCompose = compose.services[name];
      assert.ok(inStack && inCompose, name);
      assert.deepEqual(inStack.environment, { ...inCompose.environment, ...swarmOnly[name] }, `${name}: environment`);
      // (`docker compose config` keeps the file's $$ escapes; `docker stack config` resolves them.)
      const composeTest = (inCompose.healthcheck?.test ?? []).map((part) => part.replaceAll('$$', '$').replace('/secrets/redis_password', '"$REDIS_PASSWORD_FILE"'));
      assert.deepEqual(inStack.healthcheck?.test, composeTest, `${name}: healthcheck`);
      assert.equal(inStack.user, inCompose.user, `${name}: user`);
      assert.equal(inStack.read_only, true, `${name}: read-only root`);
      assert.deepEqual(inStack.cap_drop, ['ALL'], `${name}: no capabilities`);
      const limits = (service: Service): Record<string, string> =>
        Object.fromEntries(Object.entries(service.deploy?.resources?.limits ?? {}).map(([key, value]) => [key, String(value)]));
      assert.deepEqual(limits(inStack), limits(inCompose), `${name}: resource limits`);
    }
  });

  it('Redis can neither run twice on its data nor move away from it: one replica, stop-first, pinned to the labelled node', () => {
    const redis = stack.services.redis?.deploy;
    assert.ok(redis, 'redis has deploy settings');
    assert.equal(redis.replicas, 1);
    assert.equal(redis.update_config?.order, 'stop-first');
    assert.deepEqual(redis.placement?.constraints, ['node.labels.visit-counter.redis == true']);
  });
});

describe('the Swarm HA layer (deploy/swarm/ha.yaml on stack.yaml), linted offline', () => {
  let ha: Config;
  let composeHa: Config;
  const NODES = ['redis', 'redis-replica-1', 'redis-replica-2'];
  const SENTINELS = ['sentinel-1', 'sentinel-2', 'sentinel-3'];

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'vc-swarm-lint-'));
    const rendered = await stackConfig(STACK_FILE, HA_FILE);
    assert.equal(rendered.code, 0, `docker stack config rejects stack.yaml + ha.yaml:\n${rendered.stderr}`);
    assert.ok(rendered.config);
    ha = rendered.config;
    const composeArgs = ['compose', '--file', COMPOSE_FILE, '--file', join(ROOT, 'compose.ha.yaml'), '--project-directory', ROOT, 'config', '--format', 'json'];
    const result = await run('docker', composeArgs, { env: ENV, cwd: ROOT });
    assert.equal(result.code, 0, describeRun('docker', composeArgs, result));
    composeHa = JSON.parse(result.stdout) as Config;
  });
  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('is accepted by `docker stack config`, with compose.ha.yaml\'s services, none using an option Swarm drops', () => {
    assert.deepEqual(Object.keys(ha.services).sort(), Object.keys(composeHa.services).filter((name) => name !== 'redis-secrets').sort());
    assert.deepEqual(ignoredBySwarm(ha), []);
  });

  it('every Redis node and sentinel is one task of a service of its own, found by its name (dnsrr): the name follows the task', () => {
    for (const name of [...NODES, ...SENTINELS]) {
      const deploy = ha.services[name]?.deploy;
      assert.ok(deploy, `${name}: deploy settings`);
      assert.equal(deploy.replicas, 1, `${name}: one task`);
      assert.equal(deploy.endpoint_mode, 'dnsrr', `${name}: endpoint_mode`);
    }
  });

  /** Where a node or sentinel does not go by its own service's name, or the app asks elsewhere, as "service: what". */
  const nameProblems = (config: Config): string[] => {
    const problems: string[] = [];
    const expect = (name: string, key: string, wanted: string | null | undefined): void => {
      const value = config.services[name]?.environment?.[key];
      if (value !== wanted) problems.push(`${name}: ${key} is ${String(value)}, not ${String(wanted)}`);
    };
    for (const name of NODES) expect(name, 'REDIS_ANNOUNCE_HOSTNAME', name);
    for (const name of ['redis-replica-1', 'redis-replica-2']) expect(name, 'REDIS_REPLICA_OF', 'redis 6379');
    for (const name of SENTINELS) {
      expect(name, 'SENTINEL_ANNOUNCE_IP', name);
      expect(name, 'SENTINEL_HOSTNAMES', 'yes');
      expect(name, 'SENTINEL_MONITOR', 'redis 6379');
    }
    const asked = config.services.web?.environment?.REDIS_SENTINELS?.split(',').sort().join(',');
    if (asked !== SENTINELS.map((name) => `${name}:26379`).join(',')) problems.push(`web: REDIS_SENTINELS is ${String(asked)}`);
    expect('web', 'REDIS_SENTINEL_MASTER', config.services['sentinel-1']?.environment?.SENTINEL_MASTER_NAME);
    return problems;
  };

  it('the nodes and sentinels go by name, each announcing its own service\'s; the sentinels resolve names and watch `redis`; the app asks exactly the three sentinels', () => {
    assert.deepEqual(nameProblems(ha), []);
  });

  it('runs compose.ha.yaml\'s Redis and Sentinel settings (quorum, timings, min-replicas), with Swarm secrets under /run/secrets', () => {
    const sameAs = (name: string, keys: string[]): void => {
      const inStack = ha.services[name]?.environment ?? {};
      const inCompose = composeHa.services[name]?.environment ?? {};
      for (const key of keys) assert.equal(inStack[key], inCompose[key], `${name}: ${key}`);
      for (const [key, value] of Object.entries(inStack)) if (key.endsWith('_FILE')) assert.match(value ?? '', /^\/run\/secrets\//, `${name}: ${key}`);
    };
    for (const name of NODES) sameAs(name, ['REDIS_MIN_REPLICAS_TO_WRITE', 'REDIS_MIN_REPLICAS_MAX_LAG', 'REDIS_APPENDFSYNC', 'REDIS_MAXMEMORY']);
    for (const name of SENTINELS) sameAs(name, ['SENTINEL_MASTER_NAME', 'SENTINEL_QUORUM', 'SENTINEL_DOWN_AFTER_MS', 'SENTINEL_FAILOVER_TIMEOUT_MS']);
  });

  it('a copy where a replica announces another node\'s name is accepted by Docker but caught here', async () => {
    const copy = await stackConfig(STACK_FILE, await brokenCopy('ha-announce.yaml', (text) => text.replace('REDIS_ANNOUNCE_HOSTNAME: redis-replica-2', 'REDIS_ANNOUNCE_HOSTNAME: redis-replica-1'), HA_FILE));
    assert.equal(copy.code, 0, copy.stderr);
    assert.ok(copy.config);
    assert.deepEqual(nameProblems(copy.config), ['redis-replica-2: REDIS_ANNOUNCE_HOSTNAME is redis-replica-1, not redis-replica-2']);
  });
});
