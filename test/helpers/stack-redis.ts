import type { ComposeStack } from './compose.ts';

// Inside the redis container, as the app's user with the secret that container was given (never on
// a command line).
const WITH_AUTH = 'REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")" exec redis-cli --user counter --no-auth-warning "$@"';
const WITHOUT_AUTH = 'unset REDISCLI_AUTH; exec redis-cli "$@"';

/** redis-cli in the redis container; resolves with its raw output. */
export const redisCli = (stack: ComposeStack, args: string[], { auth = true } = {}): Promise<string> =>
  stack.exec('redis', ['sh', '-c', auth ? WITH_AUTH : WITHOUT_AUTH, 'redis-cli', ...args]);

/** The counter as Redis holds it (GET visits; 0 when the key does not exist). */
export const readVisits = async (stack: ComposeStack): Promise<number> => {
  const output = (await redisCli(stack, ['GET', 'visits'])).trim();
  if (!/^\d*$/.test(output)) throw new Error(`GET visits answered ${JSON.stringify(output)}`);
  return output === '' ? 0 : Number(output);
};
