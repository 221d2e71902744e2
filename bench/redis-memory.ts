import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const COUNTERS = 100_000;
const DAYS = 30;
const UNIQUES_COUNTERS = 10_000;
const VISITORS_PER_DAY = 10;

/** What is needed of an administrator's Redis connection. */
interface Admin {
  info(section: string): Promise<string>;
  flushAll(): Promise<unknown>;
}

const usedMemory = async (client: Admin) => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);

/** Feeds commands (one a line) to `redis-cli --pipe` (the fastest way to write millions of keys). */
const pipe = async (port: number, password: string, lines: Iterable<string>) => {
  const cli = spawn('redis-cli', ['-p', String(port), '--no-auth-warning', '--pipe'], { env: { ...process.env, REDISCLI_AUTH: password }, stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = once(cli, 'exit');
  await pipeline(Readable.from(lines), cli.stdin);
  const [code] = (await exited) as [number | null];
  if (code !== 0) throw new Error(`redis-cli --pipe exited ${code}`);
};

function* hits(counters: number, days: number[]) {
  for (const day of days) {
    for (let i = 0; i < counters; i += 1) {
      const tag = `{site-${i % 1000}/page-${i}}`;
      // counter_hit with one hit: the counter, today's uniques, three marker windows; now, day, ttl, oldest day kept, uniques ttl, marker ttl; visitor (none), no marker
      yield `FCALL counter_hit 5 c:${tag} u:${tag}:${day} h:${tag}:1 h:${tag}:0 h:${tag}:2 1764000000000 ${day} 0 20250101 172800 30 "" ""\n`;
    }
  }
}

function* visitors(counters: number, days: number[]) {
  for (const day of days) for (let i = 0; i < counters; i += 1) yield `PFADD u:{site-${i % 1000}/page-${i}}:${day} ${Array.from({ length: VISITORS_PER_DAY }, (_, v) => `visitor-${v}-${i}`).join(' ')}\n`;
}

/**
 * Redis memory of the counter layout (redis/functions/counter.lua), on an emptied server:
 * 100,000 counters with 30 days of history through the real counter_hit function, then
 * unique-visitor HyperLogLogs (10 visitors a day) for 10,000 of them. Returns a Markdown section.
 */
export const measureRedisMemory = async (client: Admin, port: number, password: string): Promise<string> => {
  const days = Array.from({ length: DAYS }, (_, d) => 20261101 + d);
  await client.flushAll();
  const empty = await usedMemory(client);
  await pipe(port, password, hits(COUNTERS, days.slice(0, 1)));
  const oneDay = await usedMemory(client);
  await pipe(port, password, hits(COUNTERS, days.slice(1)));
  const allDays = await usedMemory(client);
  await pipe(port, password, visitors(UNIQUES_COUNTERS, days));
  const withUniques = await usedMemory(client);
  const perCounter = (oneDay - empty) / COUNTERS;
  const perCounterDay = (allDays - oneDay) / (COUNTERS * (DAYS - 1));
  const perUniquesDay = (withUniques - allDays) / (UNIQUES_COUNTERS * DAYS);
  return `
Redis memory (used_memory), ${COUNTERS.toLocaleString('en-US')} counters × ${DAYS} days of history through counter_hit:
| what | bytes | goal |
|---|---:|---:|
| per counter (with its first day) | ${perCounter.toFixed(0)} | ≤ 200 |
| per counter-day of counts | ${perCounterDay.toFixed(1)} | ≤ 64 |
| per counter-day of unique visitors (HyperLogLog, ${VISITORS_PER_DAY} visitors, ${UNIQUES_COUNTERS.toLocaleString('en-US')} counters) | ${perUniquesDay.toFixed(0)} | – |
`;
};
