/**
 * Group commit: hits go to Redis as one call per group (one counter on one day) instead of one
 * call each. Redis parses and runs one function for all of them and the app sends and parses one
 * command, while each caller still gets its own answer (the function replies one per hit).
 *
 * A batch is sent after the turn of the event loop in which its first item came (every request
 * Node read in that poll phase has been added by then) — unless a call of the same group is still
 * in flight: then it waits for that call's answer, gathering what arrives meanwhile, as databases
 * gather commits behind the one being written. So batches grow with the load by themselves. It
 * waits at most `maxWaitMs`, so a stalled Redis delays no request by more than that beyond its
 * own call's deadline. A call that fails fails every item in it (each caller sees its error).
 */
export type Commit<Context, Item, Answer> = (context: Context, items: Item[]) => Promise<Answer[]>;

interface Batch<Context, Item, Answer> {
  context: Context;
  items: Item[];
  waiters: { resolve: (answer: Answer) => void; reject: (error: unknown) => void }[];
}

interface Group<Context, Item, Answer> {
  open: Batch<Context, Item, Answer> | undefined;
  inFlight: number;
  timer: NodeJS.Timeout | undefined;
}

export const groupCommit = <Context, Item, Answer>(commit: Commit<Context, Item, Answer>, maxPerCall: number, maxWaitMs = 2) => {
  const groups = new Map<string, Group<Context, Item, Answer>>();

  const settle = (batch: Batch<Context, Item, Answer>, answers: Answer[]) => {
    batch.waiters.forEach(({ resolve, reject }, index) => {
      const answer = answers[index];
      if (answer === undefined) reject(new Error(`the store answered ${answers.length} of ${batch.items.length} hits`));
      else resolve(answer);
    });
  };

  const send = (name: string, group: Group<Context, Item, Answer>, batch: Batch<Context, Item, Answer>) => {
    group.open = undefined;
    clearTimeout(group.timer);
    group.inFlight += 1;
    const done = () => {
      group.inFlight -= 1;
      if (group.open && group.inFlight === 0) send(name, group, group.open);
      else if (!group.open && group.inFlight === 0) groups.delete(name);
    };
    commit(batch.context, batch.items).then(
      (answers) => {
        settle(batch, answers);
        done();
      },
      (error: unknown) => {
        for (const { reject } of batch.waiters) reject(error);
        done();
      },
    );
  };

  /** Adds one item to its group's open batch (made with `context` if none is open) and waits for its answer. */
  const add = (name: string, context: () => Context, item: Item): Promise<Answer> =>
    new Promise<Answer>((resolve, reject) => {
      let group = groups.get(name);
      if (!group) {
        group = { open: undefined, inFlight: 0, timer: undefined };
        groups.set(name, group);
      }
      let batch = group.open;
      if (!batch) {
        const fresh: Batch<Context, Item, Answer> = { context: context(), items: [], waiters: [] };
        const owner = group;
        owner.open = batch = fresh;
        const sendIfStillOpen = () => { if (owner.open === fresh) send(name, owner, fresh); };
        if (owner.inFlight === 0) setImmediate(sendIfStillOpen);
        // Unref: the call in flight holds the process open; the wait behind it need not.
        else owner.timer = setTimeout(sendIfStillOpen, maxWaitMs).unref();
      }
      batch.items.push(item);
      batch.waiters.push({ resolve, reject });
      if (batch.items.length >= maxPerCall) send(name, group, batch);
    });

  /** Groups with a batch open or a call in flight. None is kept once its calls have answered, so the map does not grow with every counter and day ever hit. */
  return Object.assign(add, { active: () => groups.size });
};
