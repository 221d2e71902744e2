import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ComposeStack, type StackOptions } from './compose.ts';
import { announceSkip, assertDockerReady, SKIP_REQUESTED } from './docker-preflight.ts';
import { stopRunningCommands } from './run.ts';

const stacks = new Set<ComposeStack>();
let handlingSignals = false;

// Ctrl-C (or a CI cancel) must not leave a stack running: stop the docker commands in flight,
// tear every stack of this process down synchronously, then exit as the signal would have.
const onSignal = (signal: NodeJS.Signals): void => {
  stopRunningCommands();
  const problems: string[] = [];
  for (const stack of stacks) {
    const problem = stack.downSync();
    if (problem) problems.push(problem);
  }
  try {
    process.stderr.write(`\ne2e: ${signal}: tore down ${[...stacks].map((s) => s.project).join(', ') || 'nothing'}\n`);
    for (const problem of problems) process.stderr.write(`e2e: teardown failed: ${problem}\n`);
  } catch {
    // stderr may be gone with the parent; the teardown is what matters.
  }
  process.exit(signal === 'SIGINT' ? 130 : 143);
};

const watchSignals = (stack: ComposeStack): void => {
  stacks.add(stack);
  if (handlingSignals) return;
  handlingSignals = true;
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
};

/**
 * One Compose stack for a group of tests: brought up (built) before them and torn down
 * (`down -v --remove-orphans`) after them, whatever happened; then a last test checks that
 * nothing labelled with the project remains. Fails, never skips, when Docker is missing,
 * unless SKIP_E2E=1 asked for the skip.
 */
export const describeStack = (
  title: string,
  file: string,
  body: (stack: ComposeStack) => void,
  { env = {}, beforeUp, options }: { env?: Record<string, string>; beforeUp?: (stack: ComposeStack) => Promise<void>; options?: StackOptions } = {},
): void => {
  const stack = new ComposeStack(env, options);
  const skip = SKIP_REQUESTED ? 'SKIPPED BY REQUEST (SKIP_E2E=1)' : false;
  if (SKIP_REQUESTED) announceSkip(basename(file));

  describe(title, { skip }, () => {
    before(
      async () => {
        await assertDockerReady();
        watchSignals(stack);
        await beforeUp?.(stack);
        await stack.up();
      },
      { timeout: 12 * 60_000 },
    );
    after(
      async () => {
        await stack.down();
      },
      { timeout: 4 * 60_000 },
    );
    body(stack);
  });

  it(`tears down: no container, network, volume or image of the project remains (${title})`, { skip, timeout: 4 * 60_000 }, async () => {
    await assertDockerReady();
    await stack.down(); // a no-op when the hook above already did it
    stacks.delete(stack);
    assert.deepEqual(await stack.leftovers(), { containers: [], networks: [], volumes: [], images: [] }, `left behind by ${stack.project}`);
  });
};
