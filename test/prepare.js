// The first step of `npm test`, in plain JavaScript so that any Node.js can run it: it stops with
// one line when this Node.js is too old for the project, and installs the dependencies (npm ci)
// when node_modules is missing or does not match package-lock.json.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const NEEDED = 24;
if (Number(process.versions.node.split('.')[0]) < NEEDED) {
  process.stderr.write(`The visit counter needs Node.js ${NEEDED} or newer (this is ${process.version}); see .node-version.\n`);
  process.exit(1);
}

const root = new URL('..', import.meta.url);
const packagesIn = (file) => {
  try {
    return JSON.parse(readFileSync(new URL(file, root), 'utf8')).packages ?? {};
  } catch {
    return undefined;
  }
};

// npm keeps what it installed in node_modules/.package-lock.json: compare it with the lock file.
const locked = packagesIn('package-lock.json') ?? {};
const installed = packagesIn('node_modules/.package-lock.json');
const upToDate =
  installed !== undefined &&
  Object.entries(locked).every(
    ([path, entry]) => path === '' || installed[path]?.version === entry.version || (entry.optional && !installed[path]),
  );

if (!upToDate) {
  process.stderr.write(`node_modules is ${installed ? 'out of date' : 'missing'}: npm ci\n`);
  // Under `npm test`, npm_execpath is the npm that runs this; otherwise the one on PATH.
  const npm = process.env.npm_execpath;
  const args = ['ci', '--no-audit', '--no-fund'];
  const result = npm
    ? spawnSync(process.execPath, [npm, ...args], { stdio: 'inherit', cwd: root })
    : spawnSync('npm', args, { stdio: 'inherit', cwd: root, shell: process.platform === 'win32' });
  process.exit(result.status ?? 1);
}
