import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The body the ceiling's trivial upstream answers: as long as a typical /count answer. */
export const CEILING_BODY = 'Total visits: 1234567\n';

export interface LoopbackSite {
  /** Where the project's server block listens instead of its port in the container. */
  listenPort: number;
  /** 127.0.0.1 ports of the upstream members, one `server` line each. */
  upstreamPorts: number[];
  /** Folder of this nginx instance: logs, pid and temporary files. */
  dir: string;
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

const replaceOnce = (text: string, pattern: RegExp, replacement: string | ((...groups: string[]) => string), what: string): string => {
  const matches = text.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`)) ?? [];
  if (matches.length !== 1) {
    throw new TemplateError(`expected exactly one ${what} in the nginx template, found ${matches.length}`);
  }
  return typeof replacement === 'string' ? text.replace(pattern, replacement) : text.replace(pattern, replacement);
};

/**
 * Inputs the Compose stack takes from the environment, set for the bench. The per-client rate
 * limit is off: every request of a load test comes from one address, so it would measure the
 * limiter, and real visitors come from many addresses.
 */
export const BENCH_NGINX_ENV: Record<string, string> = { RATE_LIMIT_PER_SECOND: '0' };

/**
 * What the image's entrypoint would export before rendering the template: each `*.envsh`
 * beside the templates sourced in order, as the official entrypoint does, from `inputs`.
 */
export const entrypointEnv = (nginxDir: string, inputs: Record<string, string>): Record<string, string> => {
  const scripts = readdirSync(nginxDir)
    .filter((name) => name.endsWith('.envsh'))
    .sort()
    .map((name) => join(nginxDir, name));
  const result = spawnSync('sh', ['-c', 'for f in "$@"; do . "$f"; done; env -0', 'sh', ...scripts], {
    env: { PATH: process.env.PATH ?? '', ...inputs },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new TemplateError(`sourcing ${scripts.join(', ')} failed: ${result.stderr.trim()}`);
  return Object.fromEntries(
    result.stdout
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
};

/**
 * The committed site template rendered for loopback. Only what cannot work outside Compose
 * changes: the upstream members (literal addresses instead of a name re-resolved through
 * Docker's DNS, other parameters kept), the resolver (never consulted without `resolve`), the
 * listen port and the access log path. Other `${VARS}` are filled from `env` like envsubst
 * does; every directive stays as committed.
 */
export const renderSite = (template: string, site: LoopbackSite, env: Record<string, string>): string => {
  const memberLine = /^([ \t]*)server[ \t]+\$\{WEB_UPSTREAM\}([^;]*);[ \t]*$/m;
  let text = replaceOnce(template, memberLine, (_line, indent: string, parameters: string) => {
    const kept = parameters.split(/\s+/).filter((word) => word !== '' && word !== 'resolve');
    return site.upstreamPorts.map((port) => `${indent}${['server', `127.0.0.1:${port}`, ...kept].join(' ')};`).join('\n');
  }, '`server ${WEB_UPSTREAM} ...;` line');
  text = text.replace(
    /^([ \t]*)(resolver[ \t]+\$\{NGINX_RESOLVER\}[^;]*;)/m,
    '$1# bench: upstream members are literal loopback addresses, so no resolver is needed\n$1# $2',
  );
  text = replaceOnce(text, /^([ \t]*)listen[ \t]+(?:\S+:)?\d+(?=[\s;])/m, `$1listen 127.0.0.1:${site.listenPort}`, '`listen PORT` directive');
  text = text.replace(/(access_log[ \t]+)\/\S*\/([^/\s;]+)/g, (_all, directive: string, file: string) => `${directive}${join(site.dir, file)}`);
  text = text.replace(/\$\{(\w+)\}/g, (all, name: string) => env[name] ?? all);
  const directives = text.replace(/#.*$/gm, '');
  const unknown = /\$\{(\w+)\}/.exec(directives);
  if (unknown) throw new TemplateError(`the nginx template uses \${${unknown[1] ?? ''}}, which the bench does not know how to set`);
  return text;
};

/**
 * A stand-in for the image's /etc/nginx/nginx.conf with the same settings (worker_processes
 * auto, 1024 connections, sendfile, keepalive_timeout 65), but every path in the instance's
 * folder so nginx runs unprivileged. `extra` goes inside `http` after the site.
 */
export const renderMain = (dir: string, sitePath: string, extra = ''): string => `# Written by the bench harness.
worker_processes auto;
error_log ${join(dir, 'error.log')} notice;
pid ${join(dir, 'nginx.pid')};

events {
    worker_connections 1024;
}

http {
    default_type application/octet-stream;
    client_body_temp_path ${join(dir, 'client_temp')};
    proxy_temp_path ${join(dir, 'proxy_temp')};
    fastcgi_temp_path ${join(dir, 'fastcgi_temp')};
    uwsgi_temp_path ${join(dir, 'uwsgi_temp')};
    scgi_temp_path ${join(dir, 'scgi_temp')};
    sendfile on;
    keepalive_timeout 65;

    include ${sitePath};
${extra}}
`;

/**
 * The ceiling's upstream: answers every request with a fixed body at once, keeping upstream
 * connections open as long as the app would (Node has no per-connection request limit).
 */
export const trivialUpstream = (port: number): string => `
    server {
        listen 127.0.0.1:${port};
        access_log off;
        keepalive_requests 1000000;
        keepalive_timeout 75s;
        location / {
            default_type "text/plain; charset=utf-8";
            add_header cache-control no-store;
            return 200 "${CEILING_BODY.replace('\n', '\\n')}";
        }
    }
`;
