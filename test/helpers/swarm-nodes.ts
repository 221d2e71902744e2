import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeRun, run, runOk, runSync, stopRunningCommands } from './run.ts';
import { BUILT, COMPOSE_FILE, STACK_FILE } from './swarm.ts';
import { waitFor } from './wait.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The Docker-in-Docker stand-in .ci/standins builds (local/docker:28-dind); DIND_IMAGE overrides it. */
export const DIND_IMAGE = process.env.DIND_IMAGE ?? 'local/docker:28-dind';
/** What marks every container and network of one cluster on the host engine. */
const CLUSTER_LABEL = 'visit-counter.e2e-swarm-nodes';
const SERVICE_LABEL = 'com.docker.swarm.service.name';
const REDIS_NODE_LABEL = 'visit-counter.redis';
/** nginx's port inside the nodes: each node is a network namespace of its own, so no clash with the host. */
const HTTP_PORT = 8080;
/** The stack's name inside the nodes; the nodes are this cluster's alone. */
const STACK = 'vc';

/**
 * How the nodes start: .ci/standins/dind-run-options, one argument a line (why not --privileged:
 * that file says).
 */
export const NODE_RUN_OPTIONS = readFileSync(fileURLToPath(new URL('../../.ci/standins/dind-run-options', import.meta.url)), 'utf8')
  .split('\n')
  .filter((line) => line.trim() && !line.startsWith('#'));

const lines = (text: string): string[] => text.split('\n').map((line) => line.trim()).filter(Boolean);

export interface ClusterLeftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
  images: string[];
}

export interface Task {
  /** The task's container's short id: its hostname, which the app sends as X-Served-By. */
  id: string;
  node: string;
}

/**
 * A swarm of three Docker-in-Docker nodes (one manager, two workers) on a user-defined bridge
 * network of the host engine, each with its own engine and its own volume for /var/lib/docker.
 * deploy/swarm/stack.yaml is deployed inside it as docs/swarm.md tells an operator, the images
 * brought to every node with `docker save | docker load` (no registry). Nothing of the swarm
 * touches the host engine: teardown removes the nodes, their volumes, the network and the images
 * built for them.
 */
export class DindSwarm {
  readonly name = `vc-e2e-${randomBytes(4).toString('hex')}`;
  readonly nodes = [1, 2, 3].map((i) => `${this.name}-node${i}`);
  readonly manager = this.nodes[0] ?? '';
  readonly network = `${this.name}-net`;
  /** Anonymous volumes of the nodes (their /var/lib/docker), to check they are gone. */
  private volumes: string[] = [];
  private mayExist = false;
  /** `docker ARGS` inside a node (the manager unless told). */
  docker(args: string[], { node = this.manager, timeoutMs = 120_000, env = {} }: { node?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<string> {
    const envArgs = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
    return runOk('docker', ['exec', ...envArgs, node, 'docker', ...args], { timeoutMs });
  }

  serviceName(service: string): string {
    return `${STACK}_${service}`;
  }

  /** A node's address on the cluster's network: where its host-mode ports answer. */
  async address(node: string): Promise<string> {
    return (await runOk('docker', ['inspect', '--format', `{{(index .NetworkSettings.Networks "${this.network}").IPAddress}}`, node])).trim();
  }

  /** Starts the three nodes, makes the swarm, builds the images and loads them into every node. */
  async start(env: NodeJS.ProcessEnv): Promise<void> {
    this.mayExist = true;
    await runOk('docker', ['network', 'create', '--label', `${CLUSTER_LABEL}=${this.name}`, this.network]);
    for (const node of this.nodes) {
      await runOk('docker', ['run', '--detach', '--name', node, '--hostname', node, '--network', this.network, '--label', `${CLUSTER_LABEL}=${this.name}`, ...NODE_RUN_OPTIONS, DIND_IMAGE]);
    }
    this.volumes = lines(await runOk('docker', ['inspect', '--format', '{{range .Mounts}}{{.Name}}{{"\\n"}}{{end}}', ...this.nodes]));
    // Meanwhile the engines start: the images the stack names, built as for the single-node test.
    await runOk('docker', ['compose', '--project-name', this.name, '--file', COMPOSE_FILE, '--project-directory', ROOT, 'build', ...BUILT], { env, cwd: ROOT, timeoutMs: 10 * 60_000 });
    for (const node of this.nodes) await waitFor(`the engine in ${node}`, async () => (await run('docker', ['exec', node, 'docker', 'info'])).code === 0, 90_000, 500);

    const managerAddress = await this.address(this.manager);
    await this.docker(['swarm', 'init', '--advertise-addr', managerAddress]);
    const token = (await this.docker(['swarm', 'join-token', '--quiet', 'worker'])).trim();
    for (const node of this.nodes.slice(1)) await this.docker(['swarm', 'join', '--token', token, `${managerAddress}:2377`], { node });
    await this.docker(['node', 'update', '--label-add', `${REDIS_NODE_LABEL}=true`, this.manager]);

    // No registry: each node gets the images as `docker save | docker load`.
    const images = BUILT.map((service) => `${this.name}-${service}:latest`);
    await Promise.all(
      this.nodes.map((node) => runOk('sh', ['-c', 'docker save "$@" | docker exec -i "$0" docker load --quiet', node, ...images], { timeoutMs: 5 * 60_000 })),
    );
  }

  /** Secrets and `docker stack deploy` on the manager; resolves once every service runs all its replicas, healthy. */
  async deploy(): Promise<void> {
    for (const secret of ['redis-password', 'admin-token']) {
      await runOk('sh', ['-c', 'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \\n" | docker exec -i "$0" docker secret create "$1" -', this.manager, secret]);
    }
    await runOk('docker', ['cp', STACK_FILE, `${this.manager}:/stack.yaml`]);
    const settings = {
      IMAGE_PREFIX: this.name,
      IMAGE_TAG: 'latest',
      HTTP_PORT: String(HTTP_PORT),
      REDIS_PASSWORD_SECRET: 'redis-password',
      ADMIN_TOKEN_SECRET: 'admin-token',
      // One client address sends all the load: nginx's per-client limits off (as in SwarmStack).
      RATE_LIMIT_PER_SECOND: '0',
      CONNECTIONS_PER_CLIENT: '0',
    };
    await this.docker(['stack', 'config', '-c', '/stack.yaml'], { env: settings });
    await this.docker(['stack', 'deploy', '--resolve-image', 'never', '-c', '/stack.yaml', STACK], { env: settings });
    try {
      await waitFor('every service running all its replicas, healthy', () => this.converged(), 240_000, 1000);
    } catch (error) {
      throw new Error(`${String(error)}\n--- tasks:\n${await this.taskReport()}`, { cause: error });
    }
  }

  /** True when each service runs as many healthy containers (over all nodes) as it wants replicas. */
  async converged(): Promise<boolean> {
    for (const service of BUILT) {
      const wanted = Number((await this.docker(['service', 'inspect', '--format', '{{.Spec.Mode.Replicated.Replicas}}', this.serviceName(service)])).trim());
      if ((await this.tasks(service, { healthy: true })).length !== wanted) return false;
    }
    return true;
  }

  /** The running containers of a service on every node that answers (a stopped node has none to show). */
  async tasks(service: string, { healthy = false } = {}): Promise<Task[]> {
    const filters = ['--filter', `label=${SERVICE_LABEL}=${this.serviceName(service)}`, '--filter', 'status=running'];
    if (healthy) filters.push('--filter', 'health=healthy');
    const perNode = await Promise.all(
      this.nodes.map(async (node) => {
        const ps = await run('docker', ['exec', node, 'docker', 'ps', '--quiet', ...filters]);
        return ps.code === 0 ? lines(ps.stdout).map((id) => ({ id, node })) : [];
      }),
    );
    return perNode.flat().sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Where Swarm wants each task of a service to run: the node of every task whose desired state is running. */
  async scheduledNodes(service: string): Promise<string[]> {
    return lines(await this.docker(['service', 'ps', '--filter', 'desired-state=running', '--format', '{{.Node}}', this.serviceName(service)])).sort();
  }

  /** Each node's state as the manager sees it (ready, down). */
  async nodeStates(): Promise<Record<string, string>> {
    const states: Record<string, string> = {};
    for (const line of lines(await this.docker(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']))) {
      const [host = '', status = ''] = line.split(' ');
      states[host] = status.toLowerCase();
    }
    return states;
  }

  /** Runs a command in a running container of a service (on whichever node runs it); resolves with stdout. */
  async exec(service: string, command: string[], timeoutMs = 30_000): Promise<string> {
    const [task] = await this.tasks(service);
    if (!task) throw new Error(`no running container of ${this.serviceName(service)}`);
    return runOk('docker', ['exec', task.node, 'docker', 'exec', task.id, ...command], { timeoutMs });
  }

  async taskReport(): Promise<string> {
    const ps = await run('docker', ['exec', this.manager, 'docker', 'stack', 'ps', '--no-trunc', '--format', '{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}', STACK]);
    return `${ps.stdout}${ps.stderr}`;
  }

  /** What of the cluster is left on the host engine. */
  async leftovers(): Promise<ClusterLeftovers> {
    const label = ['--filter', `label=${CLUSTER_LABEL}=${this.name}`];
    const [containers, networks, volumes, images] = await Promise.all([
      runOk('docker', ['ps', '--all', '--format', '{{.Names}}', ...label]),
      runOk('docker', ['network', 'ls', '--format', '{{.Name}}', ...label]),
      runOk('docker', ['volume', 'ls', '--format', '{{.Name}}']),
      runOk('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `label=com.docker.compose.project=${this.name}`]),
    ]);
    return { containers: lines(containers), networks: lines(networks), volumes: lines(volumes).filter((v) => this.volumes.includes(v)), images: lines(images) };
  }

  /** Removes the nodes with their volumes (the whole swarm goes with them), the network and the images. Idempotent, synchronous (usable from a signal handler). */
  remove(): void {
    const problem = this.removeSync();
    if (problem) throw new Error(problem);
  }

  removeSync(): string | undefined {
    if (!this.mayExist) return undefined;
    const problems: string[] = [];
    const steps: [string, string[]][] = [
      ['sh', ['-c', `ids=$(docker ps -aq --filter 'label=${CLUSTER_LABEL}=${this.name}'); [ -z "$ids" ] || docker rm --force --volumes $ids >/dev/null`]],
      ['docker', ['network', 'rm', this.network]],
      ['docker', ['image', 'rm', ...BUILT.map((service) => `${this.name}-${service}:latest`)]],
    ];
    for (const [command, args] of steps) {
      const result = runSync(command, args, { timeoutMs: 120_000 });
      if (result.code !== 0 && !/not found|No such|no such/.test(result.stderr)) problems.push(describeRun(command, args, result));
    }
    this.mayExist = false;
    return problems.join('\n') || undefined;
  }
}

/** Ctrl-C or a CI cancel must not leave the nodes behind: on SIGINT, SIGTERM or SIGHUP, remove them and exit. */
export const removeClusterOnSignals = (cluster: DindSwarm): void => {
  const onSignal = (signal: NodeJS.Signals): void => {
    stopRunningCommands();
    const problem = cluster.removeSync();
    try {
      process.stderr.write(`\ne2e: ${signal}: removed the Docker-in-Docker swarm ${cluster.name}${problem ? `; teardown failed: ${problem}` : ''}\n`);
    } catch {
      // stderr may be gone with the parent; the teardown is what matters.
    }
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, onSignal);
};
