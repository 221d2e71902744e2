import { spawnSync } from 'node:child_process';

/** Something the bench needs is not installed; the message says what and how to provide it. */
export class MissingPrerequisite extends Error {
  override name = 'MissingPrerequisite';
}

export const MIN_NGINX = [1, 27, 3] as const;

/** Runs a command to completion; undefined when it cannot be started at all. */
export const probe = (command: string, args: string[]): { status: number | null; output: string } | undefined => {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error) return undefined;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
};

export const requireCommand = (command: string, args: string[], why: string): string => {
  const result = probe(command, args);
  if (!result || result.status !== 0) {
    throw new MissingPrerequisite(`${command} is needed (${why}) but "${[command, ...args].join(' ')}" did not run`);
  }
  return result.output.trim();
};

/** The version nginx -v printed, e.g. [1, 30, 6]. */
export const parseNginxVersion = (output: string): number[] | undefined =>
  /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(output)?.slice(1).map(Number);

export const isAtLeast = (version: readonly number[], minimum: readonly number[]): boolean => {
  for (let i = 0; i < minimum.length; i++) {
    const have = version[i] ?? 0;
    const need = minimum[i] ?? 0;
    if (have !== need) return have > need;
  }
  return true;
};
