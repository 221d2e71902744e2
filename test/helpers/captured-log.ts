import { Writable } from 'node:stream';
import { pino } from 'pino';

/** One JSON line of pino's: its level, message, the error's text when there is one, and the rest. */
export interface LogLine {
  level: number;
  msg: string;
  err?: string;
  [field: string]: unknown;
}

/** A logger whose JSON lines land in an array, as a replica's lines on stdout. */
export const capturedLog = () => {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
};
