import type { Operation } from './counter-history.ts';

export const ACCEPT = {
  text: 'text/plain',
  html: 'text/html',
  json: 'application/json',
} as const;

export interface Reply {
  status: number;
  contentType: string;
  /** X-Served-By: the replica (container hostname) that answered. */
  servedBy: string;
  headers: Headers;
  body: string;
  ms: number;
}

/** One GET through nginx; rejects on a network error or when no answer comes within timeoutMs. */
export const get = async (url: string, accept?: string, timeoutMs = 10_000): Promise<Reply> => {
  const started = performance.now();
  const res = await fetch(url, {
    headers: accept ? { accept } : {},
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    servedBy: res.headers.get('x-served-by') ?? '',
    headers: res.headers,
    body,
    ms: performance.now() - started,
  };
};

/** The count in a JSON /count answer; throws when the body is not one. */
export const countOf = (reply: Reply): number => {
  const parsed = JSON.parse(reply.body) as unknown;
  const count = typeof parsed === 'object' && parsed !== null ? (parsed as { count?: unknown }).count : undefined;
  if (typeof count !== 'number' || !Number.isInteger(count)) throw new Error(`no integer count in ${reply.body}`);
  return count;
};

/** GET /count in JSON. */
export const count = (base: string): Promise<Reply> => get(`${base}/count`, ACCEPT.json);

/** How often each X-Served-By value answered. */
export const tally = (replies: { servedBy: string }[]): Map<string, number> => {
  const seen = new Map<string, number>();
  for (const { servedBy } of replies) seen.set(servedBy, (seen.get(servedBy) ?? 0) + 1);
  return seen;
};

/** `total` calls of `task`, at most `concurrency` at a time; results in call order. */
export const pool = async <T>(total: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> => {
  const results = new Array<T>(total);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const index = next;
      next += 1;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return results;
};

export interface Outcome {
  /** Date.now() when the answer (or the error) came. */
  at: number;
  /** performance.now() when the request was sent and when its answer (or error) came: one monotonic clock for the history checker. */
  start: number;
  end: number;
  /** How long the request took. */
  ms: number;
  status: number;
  servedBy: string;
  count?: number;
  error?: string;
}

/** One GET /count (JSON) as an outcome: never rejects; a network error or timeout is status 0. */
export const countOnce = async (base: string): Promise<Outcome> => {
  const started = performance.now();
  try {
    const reply = await count(base);
    const outcome: Outcome = { at: Date.now(), start: started, end: performance.now(), ms: reply.ms, status: reply.status, servedBy: reply.servedBy };
    if (reply.status >= 200 && reply.status < 300) outcome.count = countOf(reply);
    return outcome;
  } catch (error) {
    const end = performance.now();
    return { at: Date.now(), start: started, end, ms: end - started, status: 0, servedBy: '', error: String(error) };
  }
};

interface LoadOptions {
  /** Concurrent loops, each sending one request after the other. */
  loops: number;
  /** Hard limits, so a forgotten load cannot run on: whichever comes first ends it. */
  maxMs: number;
  maxRequests: number;
}

/**
 * Background load on GET /count (JSON) against one base URL: a few sequential loops that run
 * until stop() or their bounds. Every answer and every network error is recorded.
 */
export class Load {
  readonly outcomes: Outcome[] = [];
  private stopping = false;
  private readonly done: Promise<void>;

  constructor(base: string, { loops, maxMs, maxRequests }: LoadOptions) {
    const deadline = Date.now() + maxMs;
    const loop = async (): Promise<void> => {
      while (!this.stopping && Date.now() < deadline && this.outcomes.length < maxRequests) {
        const outcome = await countOnce(base);
        this.outcomes.push(outcome);
        // A refused connection fails at once; do not spin on it.
        if (outcome.status === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    this.done = Promise.all(Array.from({ length: loops }, loop)).then(() => undefined);
  }

  /** Answers since a moment (Date.now()). */
  since(at: number): Outcome[] {
    return this.outcomes.filter((outcome) => outcome.at >= at);
  }

  async stop(): Promise<Outcome[]> {
    this.stopping = true;
    await this.done;
    return this.outcomes;
  }
}

export const isOk = (outcome: { status: number }): boolean => outcome.status >= 200 && outcome.status < 300;

/** An outcome as the history checker sees it: acknowledged with a count, an error answer, or none. */
export const asOperation = (outcome: Outcome): Operation => {
  if (isOk(outcome) && outcome.count !== undefined) return { start: outcome.start, end: outcome.end, outcome: 'ok', value: outcome.count };
  return { start: outcome.start, end: outcome.end, outcome: outcome.status === 0 ? 'unknown' : 'failed' };
};
