import { pino } from 'pino';

// The same ISO timestamp as pino.stdTimeFunctions.isoTime, formatted once per millisecond
// rather than once per line.
let stampedAt = 0;
// Stryker disable next-line StringLiteral: overwritten at the first line (stampedAt 0 is no current time)
let stamp = '';
const isoTime = () => {
  const now = Date.now();
  // Stryker disable next-line ConditionalExpression: a cache; formatting the time again gives the same stamp
  if (now !== stampedAt) {
    stampedAt = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
};

// One per process, like stdout itself: pino's asynchronous destination, which gathers lines and
// writes them once at least 4 KiB are pending, or every 100 ms: under load one system call
// carries many lines. (Writing each line as it comes, asynchronously, cost the replicas about
// half again as much CPU per request in `npm run bench`.) pino writes whatever is still pending,
// synchronously, when the process exits (process.exit, the end of a shutdown, an uncaught error);
// only a SIGKILL can lose the last 100 ms.
let stdout: ReturnType<typeof pino.destination> | undefined;

/** JSON lines on stdout, each tagged with the replica, so logs of all replicas can be merged. */
export const createLogger = (level: string, replicaName: string) =>
  pino(
    { level, base: { replica: replicaName }, timestamp: isoTime },
    (stdout ??= pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 100 })),
  );
