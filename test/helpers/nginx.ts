import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { ComposeStack } from './compose.ts';
import { runOk } from './run.ts';

/** One line of nginx's JSON access log (the `visits` format in nginx/templates/default.conf.template). */
export interface AccessLogLine {
  remote: string;
  request_id: string;
  method: string;
  uri: string;
  status: number;
}

/** nginx's access log lines so far (its container output), parsed; other lines are skipped. */
export const accessLog = async (stack: ComposeStack): Promise<AccessLogLine[]> => {
  const output = await stack.compose(['logs', '--no-color', '--no-log-prefix', 'nginx']);
  const lines: AccessLogLine[] = [];
  for (const line of output.split('\n')) {
    const start = line.indexOf('{"time"');
    if (start < 0) continue;
    try {
      lines.push(JSON.parse(line.slice(start)) as AccessLogLine);
    } catch {
      // not one of ours
    }
  }
  return lines;
};

/** Host PIDs of the direct children of a host process whose command line contains `text`. */
export const childrenOf = (pid: number, text: string): number[] => {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
};

/** The status line and headers of a raw HTTP answer (test/helpers/raw-http.ts) as Headers. */
export const rawHeaders = (answer: string): Headers => {
  const head = answer.split('\r\n\r\n')[0] ?? '';
  const headers = new Headers();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headers;
};

/** The body of a raw HTTP answer. */
export const rawBody = (answer: string): string => answer.split('\r\n\r\n').slice(1).join('\r\n\r\n');

/**
 * Runs curl in a new container on the stack's Compose network: a client with an address of its
 * own (nginx sees the container's address on that network, so its per-client limits key on it).
 * The image is the nginx base image, which has curl. Resolves with curl's standard output.
 */
export const curlFromContainer = (stack: ComposeStack, args: string[], timeoutMs = 60_000): Promise<string> =>
  runOk(
    'docker',
    ['run', '--rm', '--network', `${stack.project}_default`, '--entrypoint', 'curl', process.env.NGINX_IMAGE ?? 'nginx:1.30.6', '-sS', ...args],
    { timeoutMs },
  );

/** curl arguments for GETs of each URL, printing one status code per line. */
export const statusesOf = (urls: string[], headers: string[] = []): string[] => [
  '-w',
  '%{http_code}\\n',
  ...headers.flatMap((h) => ['-H', h]),
  ...urls.flatMap((url) => ['-o', '/dev/null', url]),
];

/** The headers nginx puts on every answer, its own error pages and 429s included: no version, no framing, no sniffing. */
export const assertSecurityHeaders = (headers: Headers, what: string): void => {
  assert.equal(headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
  assert.equal(headers.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options`);
  assert.ok(headers.get('referrer-policy'), `${what}: Referrer-Policy`);
  assert.match(headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
  // Two headers would arrive joined by a comma (no policy here has one): a browser enforces both.
  assert.doesNotMatch(headers.get('content-security-policy') ?? '', /,/, `${what}: one Content-Security-Policy, not two`);
  assert.equal(headers.get('server'), 'nginx', `${what}: no version in Server`);
  assert.equal(headers.get('x-powered-by'), null, `${what}: no X-Powered-By`);
};
