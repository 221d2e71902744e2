import { pino } from 'pino';

/**
 * Lines logged during one turn of the event loop go to stdout in one write at the end of that
 * turn, instead of one write per line: under load a turn finishes several requests, and each
 * write is a system call. Nothing waits longer than the turn, and whatever is pending when the
 * process exits (process.exit, an uncaught error) is written first; only a SIGKILL can lose
 * the lines of the turn it interrupts.
 */
const perTurnStdout = () => {
  const stdout = pino.destination({ dest: 1, sync: true });
  let pending = '';
  const writePending = () => {
    const text = pending;
    pending = '';
    if (text !== '') stdout.write(text);
  };
  process.on('exit', writePending);
  return {
    write(line: string) {
      if (pending === '') setImmediate(writePending);
      pending += line;
    },
  };
};

// The same ISO timestamp as pino.stdTimeFunctions.isoTime, formatted once per millisecond
// rather than once per line.
let stampedAt = 0;
let stamp = '';
const isoTime = () => {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
};

// One per process, like stdout itself.
let stdout: ReturnType<typeof perTurnStdout> | undefined;

/** JSON lines on stdout, each tagged with the replica, so logs of all replicas can be merged. */
export const createLogger = (level: string, replicaName: string) =>
  pino({ level, base: { replica: replicaName }, timestamp: isoTime }, (stdout ??= perTurnStdout()));
