import { describeRun, run } from './run.ts';

/**
 * The end-to-end tests never skip on their own: without a Docker engine or Compose v2+ they
 * fail with this message. Only SKIP_E2E=1, set by the person running them, skips them.
 */
export const SKIP_REQUESTED = process.env.SKIP_E2E === '1';

const HOW_TO_SKIP = 'Start Docker (with the Compose v2 plugin), or set SKIP_E2E=1 to skip the end-to-end tests on purpose.';

let announced = false;

/** Prints, once per test file, that the suite was skipped because SKIP_E2E=1 asked for it. */
export const announceSkip = (file: string): void => {
  if (announced) return;
  announced = true;
  const bar = '!'.repeat(78);
  process.stderr.write(
    `\n${bar}\n!! END-TO-END TESTS SKIPPED BY REQUEST (SKIP_E2E=1): ${file}\n` +
      `!! Nothing was checked against Docker. Unset SKIP_E2E to run them.\n${bar}\n\n`,
  );
};

/** Rejects with a clear message unless a Docker engine answers and Compose is v2 or later. */
export const assertDockerReady = async (): Promise<void> => {
  const skip = process.env.SKIP_E2E;
  if (skip !== undefined && skip !== '' && skip !== '0' && skip !== '1') {
    throw new Error(`SKIP_E2E must be 1 (skip the end-to-end tests) or unset, got ${JSON.stringify(skip)}`);
  }
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000 });
  if (info.code !== 0 || !info.stdout.trim()) {
    throw new Error(
      `The end-to-end tests need a Docker engine, and none answers: ${describeRun('docker', ['info'], info)}\n${HOW_TO_SKIP}`,
    );
  }
  const compose = await run('docker', ['compose', 'version', '--short'], { timeoutMs: 30_000 });
  const version = compose.stdout.trim();
  const major = /^v?(\d+)\./.exec(version)?.[1];
  if (compose.code !== 0 || major === undefined || Number(major) < 2) {
    const got = compose.code === 0 ? `it reports version ${JSON.stringify(version)}` : describeRun('docker', ['compose', 'version'], compose);
    throw new Error(`The end-to-end tests need Docker Compose v2 or later as \`docker compose\`; ${got}\n${HOW_TO_SKIP}`);
  }
};
