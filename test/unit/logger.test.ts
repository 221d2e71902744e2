import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { createLogger } from '../../src/logger.ts';

const LOGGER = new URL('../../src/logger.ts', import.meta.url).href;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** What a process that logs through createLogger writes on stdout (its own, fd 1) before it exits. */
const loggedBy = (script: string): Promise<Record<string, unknown>[]> =>
  new Promise((resolve, reject) => {
    const source = `const { createLogger } = await import(${JSON.stringify(LOGGER)});\n${script}`;
    execFile(process.execPath, ['--input-type=module', '-e', source], { encoding: 'utf8', timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>));
    });
  });

describe('createLogger', () => {
  it('logs at the level asked for, tagging every line with the replica', () => {
    const log = createLogger('warn', 'replica-7');
    assert.equal(log.level, 'warn');
    assert.deepEqual(log.bindings(), { replica: 'replica-7' });
    assert.equal(log.isLevelEnabled('info'), false);
    assert.equal(log.isLevelEnabled('error'), true);
  });

  it("stamps lines with an ISO time, the current one (not the first line's)", async () => {
    // pino calls the logger's time function once per line; its output is the `time` field of the line.
    const stampOf = (log: ReturnType<typeof createLogger>): string =>
      (log as unknown as Record<symbol, () => string>)[pino.symbols.timeSym]?.() ?? '';
    const log = createLogger('silent', 'stamp');
    const before = Date.now();
    const first = stampOf(log);
    const match = /^,"time":"(.+)"$/.exec(first);
    assert.ok(match?.[1], first);
    assert.match(match[1], ISO_TIME);
    assert.ok(Math.abs(Date.parse(match[1]) - before) < 1000, first);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = stampOf(log);
    assert.notEqual(later, first, 'a later line has a later time');
    assert.ok(Date.parse(/"time":"(.+)"/.exec(later)?.[1] ?? '') > Date.parse(match[1]));
  });

  it('writes JSON lines on stdout, each with the replica and the time, all of them before the process exits', async () => {
    const lines = await loggedBy(`
      const log = createLogger('info', 'proc-9');
      log.info('first');
      log.debug('below the level');
      log.error({ cause: 'x' }, 'second');
      process.exit(0);
    `);
    assert.deepEqual(
      lines.map(({ msg, replica, level }) => ({ msg, replica, level })),
      [
        { msg: 'first', replica: 'proc-9', level: 30 },
        { msg: 'second', replica: 'proc-9', level: 50 },
      ],
    );
    for (const line of lines) assert.match(String(line.time), ISO_TIME);
  });

  it('gathers lines rather than writing each as it comes: a few short ones are held back, then written when the process exits', async (t) => {
    const folder = mkdtempSync(join(tmpdir(), 'vc-logger-'));
    t.after(() => {
      rmSync(folder, { recursive: true, force: true });
    });
    const file = join(folder, 'stdout');
    const fd = openSync(file, 'w');
    // The child blocks for a moment after logging: a line written as it came (asynchronously) has
    // landed in the file by then; a held-back one cannot have (no timer runs while it blocks).
    const source = `const { createLogger } = await import(${JSON.stringify(LOGGER)});
      const { fstatSync } = await import('node:fs');
      const log = createLogger('info', 'held');
      log.info('one');
      log.info('two');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
      process.stderr.write(String(fstatSync(1).size));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', fd, 'pipe'] });
    closeSync(fd);
    const { stderr } = child;
    assert.ok(stderr);
    let written = '';
    stderr.setEncoding('utf8');
    stderr.on('data', (chunk: string) => (written += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, written);
    assert.equal(written, '0', 'bytes on stdout while the lines were pending');
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(lines.map(({ msg }) => msg), ['one', 'two']);
  });
});
