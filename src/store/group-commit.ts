/**
 * Group commit: the hits that arrive in one turn of the event loop (the requests Node read in one
 * poll phase) go to Redis as one call per group — one counter on one day — instead of one call
 * each. Redis parses and runs one function for all of them and the app sends and parses one
 * command, while each caller still gets its own answer (the function replies one per hit).
 * A call that fails fails every hit in it (each caller sees the same error, so the same 503).
 */
export type Commit<Context, Item, Answer> = (context: Context, items: Item[]) => Promise<Answer[]>;

interface Batch<Context, Item, Answer> {
  context: Context;
  items: Item[];
  waiters: { resolve: (answer: Answer) => void; reject: (error: unknown) => void }[];
}

export const groupCommit = <Context, Item, Answer>(commit: Commit<Context, Item, Answer>, maxPerCall: number) => {
  const open = new Map<string, Batch<Context, Item, Answer>>();

  const send = (group: string, batch: Batch<Context, Item, Answer>) => {
    // A batch that filled up was sent already; its scheduled send finds another (or none) open.
    if (open.get(group) !== batch) return;
    open.delete(group);
    commit(batch.context, batch.items).then(
      (answers) => {
        batch.waiters.forEach(({ resolve, reject }, index) => {
          const answer = answers[index];
          if (answer === undefined) reject(new Error(`the store answered ${answers.length} of ${batch.items.length} hits`));
          else resolve(answer);
        });
      },
      (error: unknown) => {
        for (const { reject } of batch.waiters) reject(error);
      },
    );
  };

  /** Adds one item to its group's batch (made with `context` if none is open) and waits for its answer. */
  return (group: string, context: () => Context, item: Item): Promise<Answer> =>
    new Promise<Answer>((resolve, reject) => {
      let batch = open.get(group);
      if (!batch) {
        const fresh: Batch<Context, Item, Answer> = { context: context(), items: [], waiters: [] };
        open.set(group, fresh);
        // After the poll phase: every request read in this turn has been added by then.
        setImmediate(() => { send(group, fresh); });
        batch = fresh;
      }
      batch.items.push(item);
      batch.waiters.push({ resolve, reject });
      if (batch.items.length >= maxPerCall) send(group, batch);
    });
};
