import { pino } from 'pino';

/** JSON lines on stdout, each tagged with the replica, so logs of all replicas can be merged. */
export const createLogger = (level: string, replicaName: string) =>
  pino({ level, base: { replica: replicaName }, timestamp: pino.stdTimeFunctions.isoTime });
