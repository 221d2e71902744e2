import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';
import { describeRun, run, runOk, runSync } from './run.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE_FILE = fileURLToPath(new URL('../../compose.yaml', import.meta.url));

const PROJECT_LABEL = 'com.docker.compose.project';
const SERVICE_LABEL = 'com.docker.compose.service';

/** How long a first `up --build` may take: on a fresh machine it pulls the base images. */
const UP_TIMEOUT_MS = 10 * 60_000;

export interface Container {
  id: string;
  name: string;
  service: string;
  running: boolean;
  startedAt: string;
  restartCount: number;
  exitCode: number;
  /** Host PID of the container's PID 1. */
  pid: number;
  networkMode: string;
  /** Published ports: container port (e.g. "80/tcp") to host ports. */
  published: Record<string, string[]>;
}

interface Leftovers {
  containers: string[];
  networks: string[];
  volumes: string[];
  images: string[];
}

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

const lines = (text: string): string[] => text.split('\n').map((line) => line.trim()).filter(Boolean);

export interface StackOptions {
  /** Pass REDIS_PASSWORD_FILE (the default); false: leave it unset, as on a fresh machine. */
  ownPassword?: boolean;
  /** The password file's mode (0o644 by default) and what follows the password in it ("\n"). */
  passwordFileMode?: number;
  passwordFileEnd?: string;
  /** Override files after compose.yaml (e.g. compose.ha.yaml), relative to the repository. */
  overrides?: string[];
}

/**
 * One Compose project of the repository's compose.yaml under a unique name, on a free host port,
 * with a test Redis password (as REDIS_PASSWORD_FILE, unless told to leave it unset). Everything else in the environment (NODE_IMAGE, DOCKER_HOST, ...)
 * passes through, so the same tests run on stand-in images here and official images elsewhere.
 */
export class ComposeStack {
  readonly project = `vc-e2e-${randomBytes(4).toString('hex')}`;
  readonly password = `e2e-${randomBytes(12).toString('hex')}`;
  /** The password as a Compose secret file, the way a user passes their own. */
  readonly passwordFile = join(mkdtempSync(join(tmpdir(), 'vc-e2e-secret-')), 'redis_password');
  /** Settings for this stack on top of the defaults below; a later `up` applies changes. */
  readonly extraEnv: Record<string, string>;
  port = 0;

  /** False: no REDIS_PASSWORD_FILE, the stack makes its own random password (then `password` is unused). */
  readonly ownPassword: boolean;

  private readonly overrides: string[];

  constructor(extraEnv: Record<string, string> = {}, { ownPassword = true, passwordFileMode = 0o644, passwordFileEnd = '\n', overrides = [] }: StackOptions = {}) {
    writeFileSync(this.passwordFile, `${this.password}${passwordFileEnd}`, { mode: passwordFileMode });
    this.extraEnv = { ...extraEnv };
    this.ownPassword = ownPassword;
    this.overrides = overrides.map((file) => join(ROOT, file));
  }
  /** True from the first `up` until a `down` succeeded: something may exist that must be removed. */
  private mayExist = false;

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  env(): NodeJS.ProcessEnv {
    // Never the caller's own REDIS_PASSWORD_FILE: this stack's, or none.
    const inherited = { ...process.env };
    delete inherited.REDIS_PASSWORD_FILE;
    return {
      ...inherited,
      HTTP_PORT: String(this.port),
      ...(this.ownPassword ? { REDIS_PASSWORD_FILE: this.passwordFile } : {}),
      // The load here comes from one client address, far above any per-client rate or connection
      // limit: turn nginx's off (nginx/18-visit-counter-limits.envsh) unless a stack asks for them.
      RATE_LIMIT_PER_SECOND: '0',
      CONNECTIONS_PER_CLIENT: '0',
      ...this.extraEnv,
    };
  }

  private composeArgs(args: string[]): string[] {
    const files = [COMPOSE_FILE, ...this.overrides].flatMap((file) => ['--file', file]);
    return ['compose', '--project-name', this.project, ...files, '--project-directory', ROOT, '--ansi', 'never', ...args];
  }

  /** `docker compose -p PROJECT ...`; rejects with the output when it fails. */
  compose(args: string[], timeoutMs = 120_000): Promise<string> {
    return runOk('docker', this.composeArgs(args), { env: this.env(), cwd: ROOT, timeoutMs });
  }

  /** `docker compose up --build --wait`; on failure the error carries `ps` and the logs' tails. */
  async up(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    this.mayExist = true;
    const args = this.composeArgs(['up', '--detach', '--build', '--wait', '--wait-timeout', '180']);
    const result = await run('docker', args, { env: this.env(), cwd: ROOT, timeoutMs: UP_TIMEOUT_MS });
    if (result.code === 0) return;
    const ps = await run('docker', this.composeArgs(['ps', '--all']), { env: this.env() });
    const logs = await run('docker', this.composeArgs(['logs', '--no-color', '--tail', '30']), { env: this.env() });
    throw new Error(`${describeRun('docker', args, result)}\n--- ps:\n${ps.stdout}${ps.stderr}\n--- logs:\n${logs.stdout}${logs.stderr}`);
  }

  /** Removes containers, networks, volumes and the images built for this project, then the secret file. Idempotent. */
  async down(): Promise<void> {
    if (this.mayExist) {
      await this.compose(['down', '--volumes', '--remove-orphans', '--rmi', 'local', '--timeout', '10'], 180_000);
      this.mayExist = false;
    }
    this.removeSecret();
  }

  /** The password file's folder: only once nothing of the project remains (Compose reads the file). */
  private removeSecret(): void {
    rmSync(dirname(this.passwordFile), { recursive: true, force: true });
  }

  /** The same, synchronously: for SIGINT/SIGTERM handlers, which must finish before exiting. */
  downSync(): string | undefined {
    if (!this.mayExist) return undefined;
    const args = this.composeArgs(['down', '--volumes', '--remove-orphans', '--rmi', 'local', '--timeout', '10']);
    const result = runSync('docker', args, { env: this.env(), cwd: ROOT, timeoutMs: 180_000 });
    if (result.code === 0) {
      this.mayExist = false;
      this.removeSecret();
      return undefined;
    }
    return describeRun('docker', args, result);
  }

  /** Runs a command in the first container of a service, without a TTY; resolves with stdout. */
  exec(service: string, command: string[], timeoutMs = 30_000): Promise<string> {
    return this.compose(['exec', '-T', service, ...command], timeoutMs);
  }

  /** IDs of this project's containers (of one service), running or not. */
  async containerIds(service?: string): Promise<string[]> {
    const filters = ['--filter', `label=${PROJECT_LABEL}=${this.project}`];
    if (service) filters.push('--filter', `label=${SERVICE_LABEL}=${service}`);
    return lines(await runOk('docker', ['ps', '--all', '--quiet', '--no-trunc', ...filters]));
  }

  async containers(service?: string): Promise<Container[]> {
    const ids = await this.containerIds(service);
    if (ids.length === 0) return [];
    const parsed: unknown = JSON.parse(await runOk('docker', ['inspect', ...ids]));
    if (!Array.isArray(parsed)) throw new Error('docker inspect did not return an array');
    return parsed.map((item: unknown): Container => {
      const raw = asRecord(item);
      const state = asRecord(raw.State);
      const config = asRecord(raw.Config);
      const hostConfig = asRecord(raw.HostConfig);
      const ports = asRecord(asRecord(raw.NetworkSettings).Ports);
      const published: Record<string, string[]> = {};
      for (const [port, bindings] of Object.entries(ports)) {
        if (!Array.isArray(bindings) || bindings.length === 0) continue;
        published[port] = bindings.map((binding: unknown) => {
          const b = asRecord(binding);
          return `${String(b.HostIp)}:${String(b.HostPort)}`;
        });
      }
      // Bindings asked for but not in effect (a stopped container) count too.
      for (const [port, bindings] of Object.entries(asRecord(hostConfig.PortBindings))) {
        if (!Array.isArray(bindings) || bindings.length === 0 || published[port]) continue;
        published[port] = bindings.map((binding: unknown) => {
          const b = asRecord(binding);
          return `${String(b.HostIp)}:${String(b.HostPort)}`;
        });
      }
      return {
        id: String(raw.Id),
        name: String(raw.Name).replace(/^\//, ''),
        service: String(asRecord(config.Labels)[SERVICE_LABEL]),
        running: state.Running === true,
        startedAt: String(state.StartedAt),
        restartCount: Number(raw.RestartCount),
        exitCode: Number(state.ExitCode),
        pid: Number(state.Pid),
        networkMode: String(hostConfig.NetworkMode),
        published,
      };
    });
  }

  /** What of this project still exists, found by the Compose project label. */
  async leftovers(): Promise<Leftovers> {
    const filter = ['--filter', `label=${PROJECT_LABEL}=${this.project}`];
    const [containers, networks, volumes, images] = await Promise.all([
      runOk('docker', ['ps', '--all', '--format', '{{.Names}}', ...filter]),
      runOk('docker', ['network', 'ls', '--format', '{{.Name}}', ...filter]),
      runOk('docker', ['volume', 'ls', '--format', '{{.Name}}', ...filter]),
      runOk('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', ...filter]),
    ]);
    return { containers: lines(containers), networks: lines(networks), volumes: lines(volumes), images: lines(images) };
  }
}
