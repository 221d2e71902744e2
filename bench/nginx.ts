import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Child } from './child.ts';
import { renderMain, renderSite } from './nginx-config.ts';
import { MIN_NGINX, MissingPrerequisite, isAtLeast, parseNginxVersion, probe } from './prerequisites.ts';
import { processTree } from './proc-stats.ts';
import { waitUntilOk } from './wait.ts';

/** Where nginx comes from: a binary on this machine, or a Docker image run with host networking. */
export type NginxSource = { kind: 'binary'; path: string; version: string } | { kind: 'image'; image: string; version: string };

const MIN_TEXT = MIN_NGINX.join('.');
const HOW_TO_PROVIDE =
  `Install nginx >= ${MIN_TEXT} (the template's \`server ... resolve\` needs it) and pass --nginx PATH or set NGINX_BIN, ` +
  'or run it from a Docker image with --nginx-image IMAGE (e.g. --nginx-image nginx:1.30).';

const checkVersion = (output: string, what: string): string => {
  const version = parseNginxVersion(output);
  if (!version) throw new MissingPrerequisite(`${what} did not report an nginx version (got ${JSON.stringify(output.slice(0, 200))}). ${HOW_TO_PROVIDE}`);
  if (!isAtLeast(version, MIN_NGINX)) {
    throw new MissingPrerequisite(`${what} is nginx ${version.join('.')}, older than ${MIN_TEXT}. ${HOW_TO_PROVIDE}`);
  }
  return version.join('.');
};

/** Finds the nginx to use, or says exactly what is missing. Never installs or pulls anything. */
export const locateNginx = (bin: string | undefined, image: string | undefined): NginxSource => {
  if (image !== undefined) {
    const docker = probe('docker', ['version', '--format', '{{.Server.Version}}']);
    if (!docker || docker.status !== 0) {
      throw new MissingPrerequisite(`--nginx-image needs a running Docker engine, and "docker version" failed${docker ? `: ${docker.output.trim()}` : ''}`);
    }
    const present = probe('docker', ['image', 'inspect', '--format', '{{.Id}}', image]);
    if (!present || present.status !== 0) {
      throw new MissingPrerequisite(`the Docker image ${image} is not on this machine; pull or build it first (the bench does not pull)`);
    }
    const version = probe('docker', ['run', '--rm', '--network', 'none', '--entrypoint', 'nginx', image, '-v']);
    return { kind: 'image', image, version: checkVersion(version?.output ?? '', `nginx in ${image}`) };
  }
  const path = bin ?? 'nginx';
  const version = probe(path, ['-v']);
  if (!version) throw new MissingPrerequisite(`nginx >= ${MIN_TEXT} is needed, and "${path}" was not found. ${HOW_TO_PROVIDE}`);
  return { kind: 'binary', path, version: checkVersion(version.output, `"${path}"`) };
};

export interface NginxInstanceOptions {
  name: string;
  /** Folder of this instance; must lie inside `mountRoot`. */
  dir: string;
  /** Bind-mounted at the same path into the container, for --nginx-image. */
  mountRoot: string;
  template: string;
  /** Values for the template's other ${VARS} (see entrypointEnv). */
  env: Record<string, string>;
  listenPort: number;
  upstreamPorts: number[];
  /** Extra server blocks inside `http`. */
  extra?: string;
}

/** One nginx master (and its workers) running the project's site configuration on loopback. */
export class NginxInstance {
  readonly dir: string;
  private readonly child: Child;
  private readonly rootPid: () => number | undefined;
  private readonly cleanup: () => void;

  private constructor(dir: string, child: Child, rootPid: () => number | undefined, cleanup: () => void) {
    this.dir = dir;
    this.child = child;
    this.rootPid = rootPid;
    this.cleanup = cleanup;
  }

  static async start(source: NginxSource, options: NginxInstanceOptions): Promise<NginxInstance> {
    const { dir } = options;
    mkdirSync(dir, { recursive: true });
    const sitePath = join(dir, 'site.conf');
    const confPath = join(dir, 'nginx.conf');
    writeFileSync(sitePath, renderSite(options.template, { listenPort: options.listenPort, upstreamPorts: options.upstreamPorts, dir }, options.env));
    writeFileSync(confPath, renderMain(dir, sitePath, options.extra));
    const nginxArgs = ['-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', confPath, '-g', 'daemon off;'];

    let child: Child;
    let rootPid: () => number | undefined;
    let cleanup: () => void = () => undefined;
    if (source.kind === 'binary') {
      child = new Child(options.name, source.path, nginxArgs);
      rootPid = () => child.process.pid;
    } else {
      const container = `${options.name}-${process.pid}`;
      const user = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
      // Host networking keeps it a local process on loopback; the same uid keeps the files ours.
      child = new Child(options.name, 'docker', [
        'run', '--rm', '--name', container, '--network', 'host', '--user', user,
        '-v', `${options.mountRoot}:${options.mountRoot}`, '--entrypoint', 'nginx', source.image, ...nginxArgs,
      ]);
      // Should the docker client die without passing the signal on, the container must not outlive the run.
      cleanup = () => {
        spawnSync('docker', ['rm', '--force', container], { stdio: 'ignore' });
      };
      let pid: number | undefined;
      rootPid = () => {
        if (pid === undefined) {
          const inspect = spawnSync('docker', ['inspect', '--format', '{{.State.Pid}}', container], { encoding: 'utf8' });
          const found = Number(inspect.stdout.trim());
          if (found > 0) pid = found;
        }
        return pid;
      };
    }
    const instance = new NginxInstance(dir, child, rootPid, cleanup);
    try {
      await waitUntilOk(`http://127.0.0.1:${options.listenPort}/nginx-health`, `nginx (${options.name})`, child.death);
    } catch (error) {
      await instance.stop();
      throw error;
    }
    return instance;
  }

  /** Master and workers, as host process ids (for CPU accounting). */
  pids(): number[] {
    const root = this.rootPid();
    return root === undefined ? [] : processTree(root);
  }

  /** Graceful stop (SIGQUIT lets workers finish; docker run passes the signal on). */
  async stop(): Promise<void> {
    await this.child.stop('SIGQUIT', 10_000);
    this.cleanup();
  }
}
