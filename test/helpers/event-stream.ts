/** A Server-Sent Events client for tests: reads a stream with fetch, keeps every event. */
export interface ServerEvent {
  event: string;
  data: string;
}

export class EventStreamClient {
  readonly events: ServerEvent[] = [];
  status = 0;
  private readonly controller = new AbortController();
  private ended = false;
  private waiters: (() => void)[] = [];

  /** Resolves once the response headers arrived (status set); events keep arriving after. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<EventStreamClient> {
    const client = new EventStreamClient();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: client.controller.signal });
    client.status = response.status;
    client.body = response.ok ? '' : await response.text();
    if (response.ok && response.body) void client.read(response.body);
    else client.ended = true;
    return client;
  }

  /** The response body when the stream was refused. */
  body = '';

  get closed(): boolean {
    return this.ended;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length > 0) this.events.push({ event, data: data.join('\n') });
        }
        this.wake();
      }
    } catch {
      // aborted by close(), or the server went away
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Waits until an event matches (or the stream ends, or the time is up: rejects). */
  async waitForEvent(what: string, matches: (event: ServerEvent) => boolean, timeoutMs: number): Promise<ServerEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(matches);
      if (found) return found;
      if (this.ended) throw new Error(`${what}: the stream ended first (events: ${JSON.stringify(this.events)})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${timeoutMs} ms (events: ${JSON.stringify(this.events)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves when the server ends the stream, rejects after timeoutMs. */
  async waitForEnd(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error(`the stream did not end within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): void {
    this.controller.abort();
  }
}
