import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';
import { describeRun, run, runOk, runSync, stopRunningCommands } from './run.ts';
import { waitFor } from './wait.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const STACK_FILE = fileURLToPath(new URL('../../deploy/swarm/stack.yaml', import.meta.url));
/** The Sentinel layer, deployed on top of STACK_FILE (docs/swarm.md, "High availability"). */
export const HA_FILE = fileURLToPath(new URL('../../deploy/swarm/ha.yaml', import.meta.url));
export const COMPOSE_FILE = fileURLToPath(new URL('../../compose.yaml', import.meta.url));

const STACK_LABEL = 'com.docker.stack.namespace';
const SERVICE_LABEL = 'com.docker.swarm.service.name';
/** The node label the stack's Redis is pinned to (deploy/swarm/stack.yaml). */
const REDIS_NODE_LABEL = 'visit-counter.redis';
/** The services with an image of their own: what `docker compose build` makes. */
export const BUILT = ['web', 'redis', 'nginx'] as const;
/** The services ha.yaml adds (they run the redis image). */
export const HA_SERVICES = ['redis-replica-1', 'redis-replica-2', 'sentinel-1', 'sentinel-2', 'sentinel-3'] as const;

const lines = (text: string): string[] => text.split('\n').map((line) => line.trim()).filter(Boolean);

export interface SwarmLeftovers {
  services: string[];
  containers: string[];
  networks: string[];
  volumes: string[];
  secrets: string[];
  images: string[];
}

/** What the engine was before the test touched it, to put it back so. */
interface EngineBefore {
  swarm: string;
  nodeId: string;
  redisLabel: boolean;
  gatewayBridge: boolean;
}

/**
 * deploy/swarm/stack.yaml as one Swarm stack under a unique name (vc-e2e-<hex>), on a free host
 * port, with images built from the repository (`docker compose build`, named after the stack) and
 * two random Swarm secrets. With `ha`, deploy/swarm/ha.yaml is layered on it, with its two more
 * secrets, as docs/swarm.md tells an operator. The engine is made a single-node swarm when it is
 * none, and left as it was found: a swarm this made is left again, a node label this added is removed.
 */
export class SwarmStack {
  readonly name = `vc-e2e-${randomBytes(4).toString('hex')}`;
  /** Each Swarm secret the stack needs, by the setting that names it. */
  readonly secrets: Record<string, string>;
  readonly files: string[];
  readonly services: readonly string[];
  port = 0;
  /** Settings on top of the test's own (deployAgain changes them). */
  private settings: Record<string, string> = {};
  private engine: EngineBefore | undefined;
  private mayExist = false;

  constructor({ ha = false } = {}) {
    this.files = ha ? [STACK_FILE, HA_FILE] : [STACK_FILE];
    this.services = ha ? [...BUILT, ...HA_SERVICES] : BUILT;
    this.secrets = {
      REDIS_PASSWORD_SECRET: `${this.name}-redis-password`,
      ADMIN_TOKEN_SECRET: `${this.name}-admin-token`,
      ...(ha ? { REDIS_REPLICATION_PASSWORD_SECRET: `${this.name}-redis-replication-password`, REDIS_SENTINEL_PASSWORD_SECRET: `${this.name}-redis-sentinel-password` } : {}),
    };
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The settings the stack file reads (plus the caller's environment: NODE_IMAGE and so on for the build). */
  env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      IMAGE_PREFIX: this.name,
      IMAGE_TAG: 'latest',
      HTTP_PORT: String(this.port),
      ...this.secrets,
      // One client address sends all the load: nginx's per-client limits off (as in ComposeStack).
      RATE_LIMIT_PER_SECOND: '0',
      CONNECTIONS_PER_CLIENT: '0',
      ...this.settings,
    };
  }

  private deployArgs(): string[] {
    // Local images have no registry digest to pin: never ask a registry.
    return ['stack', 'deploy', '--resolve-image', 'never', ...this.fileArgs(), this.name];
  }

  private fileArgs(): string[] {
    return this.files.flatMap((file) => ['--compose-file', file]);
  }

  /** `docker stack deploy` again with changed settings, as an operator would; resolves once every service converged. */
  async deployAgain(settings: Record<string, string>): Promise<void> {
    this.settings = { ...this.settings, ...settings };
    await runOk('docker', [...this.deployArgs(), '--detach=false'], { env: this.env(), cwd: ROOT, timeoutMs: 300_000 });
  }

  serviceName(service: string): string {
    return `${this.name}_${service}`;
  }

  private async swarmState(): Promise<{ state: string; nodeId: string; manager: boolean }> {
    const [state = '', nodeId = '', manager = ''] = (await runOk('docker', ['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}} {{.Swarm.ControlAvailable}}'])).trim().split(' ');
    return { state, nodeId, manager: manager === 'true' };
  }

  /** Makes the engine a swarm manager if it is in no swarm; builds the images; creates the secrets; deploys. */
  async deploy(): Promise<void> {
    this.mayExist = true;
    const before = await this.swarmState();
    const gatewayBridge = (await run('docker', ['network', 'inspect', 'docker_gwbridge'])).code === 0;
    if (before.state === 'active' && !before.manager) throw new Error('this engine is a swarm worker: the Swarm test needs a manager (or an engine in no swarm)');
    if (before.state !== 'active' && before.state !== 'inactive') throw new Error(`the engine's swarm state is "${before.state}"; the test needs "inactive" or an active manager`);
    if (before.state === 'inactive') {
      const init = await run('docker', ['swarm', 'init'], { timeoutMs: 60_000 });
      // More than one address and none chosen: the loopback one is enough for a single node.
      if (init.code !== 0 && /advertise/.test(init.stderr)) await runOk('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1'], { timeoutMs: 60_000 });
      else if (init.code !== 0) throw new Error(describeRun('docker', ['swarm', 'init'], init));
    }
    const { nodeId } = await this.swarmState();
    const labels = JSON.parse(await runOk('docker', ['node', 'inspect', '--format', '{{json .Spec.Labels}}', nodeId])) as Record<string, string> | null;
    this.engine = { swarm: before.state, nodeId, redisLabel: labels?.[REDIS_NODE_LABEL] === 'true', gatewayBridge };
    if (!this.engine.redisLabel) await runOk('docker', ['node', 'update', '--label-add', `${REDIS_NODE_LABEL}=true`, nodeId]);

    // The images the stack names: compose.yaml's builds, tagged <stack name>-<service>:latest.
    await runOk('docker', ['compose', '--project-name', this.name, '--file', COMPOSE_FILE, '--project-directory', ROOT, 'build', ...BUILT], {
      env: this.env(),
      cwd: ROOT,
      timeoutMs: 10 * 60_000,
    });
    // Secrets as an operator makes them (docs/swarm.md): random, from a file nobody else reads.
    const folder = mkdtempSync(join(tmpdir(), 'vc-e2e-swarm-'));
    try {
      for (const secret of Object.values(this.secrets)) {
        const file = join(folder, 'secret');
        writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
        await runOk('docker', ['secret', 'create', secret, file]);
      }
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    this.port = await freePort();
    // The docs' check before the deploy: the files, merged, pass the CLI's own schema.
    await runOk('docker', ['stack', 'config', ...this.fileArgs()], { env: this.env(), cwd: ROOT });
    await runOk('docker', this.deployArgs(), { env: this.env(), cwd: ROOT, timeoutMs: 120_000 });
    try {
      await waitFor('every service of the stack running all its replicas, healthy', () => this.converged(), 240_000, 1000);
      await waitFor('GET / through nginx', async () => (await fetch(this.base, { signal: AbortSignal.timeout(2000) })).ok, 60_000, 500);
    } catch (error) {
      throw new Error(`${String(error)}\n--- tasks:\n${await this.taskReport()}`, { cause: error });
    }
  }

  /** True when each service runs as many healthy containers as it wants replicas. */
  async converged(): Promise<boolean> {
    for (const service of this.services) {
      const wanted = Number((await runOk('docker', ['service', 'inspect', '--format', '{{.Spec.Mode.Replicated.Replicas}}', this.serviceName(service)])).trim());
      if ((await this.containerIds(service, { healthy: true })).length !== wanted) return false;
    }
    return true;
  }

  /** Every task of the stack with its state and error, for failure messages. */
  async taskReport(): Promise<string> {
    const ps = await run('docker', ['stack', 'ps', '--no-trunc', '--format', '{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}', this.name]);
    return `${ps.stdout}${ps.stderr}`;
  }

  /** Short ids (as X-Served-By shows them: the container's hostname) of a service's running containers. */
  async containerIds(service: string, { healthy = false } = {}): Promise<string[]> {
    const filters = ['--filter', `label=${SERVICE_LABEL}=${this.serviceName(service)}`, '--filter', 'status=running'];
    if (healthy) filters.push('--filter', 'health=healthy');
    return lines(await runOk('docker', ['ps', '--quiet', ...filters])).sort();
  }

  /** Runs a command in a running container of a service; resolves with stdout. */
  async exec(service: string, command: string[], timeoutMs = 30_000): Promise<string> {
    const [id] = await this.containerIds(service);
    if (!id) throw new Error(`no running container of ${this.serviceName(service)}`);
    return runOk('docker', ['exec', id, ...command], { timeoutMs });
  }

  /** What of the stack still exists: found by its label and its names. */
  async leftovers(): Promise<SwarmLeftovers> {
    const label = ['--filter', `label=${STACK_LABEL}=${this.name}`];
    const inSwarm = (await this.swarmState()).manager;
    const [services, secrets] = inSwarm
      ? await Promise.all([
          runOk('docker', ['service', 'ls', '--format', '{{.Name}}', ...label]),
          runOk('docker', ['secret', 'ls', '--format', '{{.Name}}', '--filter', `name=${this.name}`]),
        ])
      : ['', ''];
    const [containers, networks, volumes, images] = await Promise.all([
      runOk('docker', ['ps', '--all', '--format', '{{.Names}}', ...label]),
      runOk('docker', ['network', 'ls', '--format', '{{.Name}}', ...label]),
      runOk('docker', ['volume', 'ls', '--format', '{{.Name}}', ...label]),
      runOk('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `label=com.docker.compose.project=${this.name}`]),
    ]);
    return {
      services: lines(services),
      containers: lines(containers),
      networks: lines(networks),
      volumes: lines(volumes),
      secrets: lines(secrets),
      images: lines(images),
    };
  }

  /** Whether the engine is back as it was: its swarm state, and the Redis node label. */
  async engineRestored(): Promise<{ swarm: string; redisLabel: boolean | undefined }> {
    const { state, nodeId } = await this.swarmState();
    let redisLabel: boolean | undefined;
    if (state === 'active') {
      const labels = JSON.parse(await runOk('docker', ['node', 'inspect', '--format', '{{json .Spec.Labels}}', nodeId])) as Record<string, string> | null;
      redisLabel = labels?.[REDIS_NODE_LABEL] === 'true';
    }
    return { swarm: state, redisLabel };
  }

  /** What the engine was before: the expected answer of engineRestored(). */
  get engineBefore(): { swarm: string; redisLabel: boolean | undefined } {
    return { swarm: this.engine?.swarm ?? 'inactive', redisLabel: this.engine?.swarm === 'active' ? this.engine.redisLabel : undefined };
  }

  /**
   * Removes the stack (services, then, once their containers are gone, its volumes), the secrets
   * and the images, then puts the engine back as it was. Idempotent; synchronous, so that a
   * signal handler can use it too.
   */
  remove(): void {
    const problem = this.removeSync();
    if (problem) throw new Error(problem);
  }

  /** The same, never throwing: what failed, if anything. */
  removeSync(): string | undefined {
    try {
      if (!this.mayExist) return undefined;
      const problems: string[] = [];
      for (const [command, args, wait] of this.removeSteps()) {
        const result = runSync(command, args, { timeoutMs: 120_000 });
        if (result.code !== 0 && !/not found|No such|no such|not a swarm manager|not part of a swarm/.test(result.stderr)) problems.push(describeRun(command, args, result));
        if (wait) wait();
      }
      this.mayExist = false;
      return problems.join('\n') || undefined;
    } catch (error) {
      return String(error);
    }
  }

  /** Each step of the teardown: a command, and what to wait for after it. */
  private removeSteps(): [string, string[], (() => void)?][] {
    const label = `label=${STACK_LABEL}=${this.name}`;
    // `stack rm` returns before the containers are gone; volumes in use cannot be removed.
    const waitGone = (): void => {
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        const ps = runSync('docker', ['ps', '--all', '--quiet', '--filter', label]);
        const nets = runSync('docker', ['network', 'ls', '--quiet', '--filter', label]);
        if (ps.code === 0 && nets.code === 0 && !ps.stdout.trim() && !nets.stdout.trim()) return;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000); // a synchronous sleep
      }
    };
    const volumes = (): string[] => lines(runSync('docker', ['volume', 'ls', '--quiet', '--filter', label]).stdout);
    const steps: [string, string[], (() => void)?][] = [['docker', ['stack', 'rm', this.name], waitGone]];
    // Containers of stopped tasks are kept by Swarm (task history) until the service is removed.
    steps.push(['sh', ['-c', `ids=$(docker ps -aq --filter '${label}'); [ -z "$ids" ] || docker rm -f $ids >/dev/null`]]);
    for (const volume of volumes()) steps.push(['docker', ['volume', 'rm', volume]]);
    steps.push(['docker', ['secret', 'rm', ...Object.values(this.secrets)]]);
    steps.push(['docker', ['image', 'rm', ...BUILT.map((service) => `${this.name}-${service}:latest`)]]);
    const engine = this.engine;
    if (engine?.swarm === 'active' && !engine.redisLabel) steps.push(['docker', ['node', 'update', '--label-rm', REDIS_NODE_LABEL, engine.nodeId]]);
    if (engine?.swarm === 'inactive') {
      steps.push(['docker', ['swarm', 'leave', '--force']]);
      // Made by the swarm for its containers' outside traffic; not there before. Right after the
      // leave it may still have endpoints ("has active endpoints"): try again for a while.
      if (!engine.gatewayBridge) steps.push(['sh', ['-c', 'for i in $(seq 20); do docker network rm docker_gwbridge >/dev/null 2>&1 && exit 0; docker network inspect docker_gwbridge >/dev/null 2>&1 || exit 0; sleep 1; done; exec docker network rm docker_gwbridge']]);
    }
    return steps;
  }
}

/** Ctrl-C or a CI cancel must not leave the stack, its secrets or a swarm behind: on SIGINT, SIGTERM or SIGHUP, remove it and exit. */
export const removeOnSignals = (stack: SwarmStack): void => {
  const onSignal = (signal: NodeJS.Signals): void => {
    stopRunningCommands();
    const problem = stack.removeSync();
    try {
      process.stderr.write(`\ne2e: ${signal}: removed the Swarm stack ${stack.name}${problem ? `; teardown failed: ${problem}` : ''}\n`);
    } catch {
      // stderr may be gone with the parent; the teardown is what matters.
    }
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, onSignal);
};
