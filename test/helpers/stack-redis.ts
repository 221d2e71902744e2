/** A stack whose services can run a command (the Compose stack, the Swarm stack). */
export interface ExecInService {
  exec(service: string, command: string[], timeoutMs?: number): Promise<string>;
}

// Inside the redis container, as the app's user with the secret that container was given (never on
// a command line).
// Line ends at the end of the file (CRLF, blank lines) are not part of the password, as in the app
// and start-redis.sh.
const WITH_AUTH = 'REDISCLI_AUTH="$(sed \'s/\\r$//\' "$REDIS_PASSWORD_FILE")" exec redis-cli --user counter --no-auth-warning "$@"';
const WITHOUT_AUTH = 'unset REDISCLI_AUTH; exec redis-cli "$@"';

/** redis-cli in the redis container (or another Redis node's: `service`); resolves with its raw output. */
export const redisCli = (stack: ExecInService, args: string[], { auth = true, service = 'redis' } = {}): Promise<string> =>
  stack.exec(service, ['sh', '-c', auth ? WITH_AUTH : WITHOUT_AUTH, 'redis-cli', ...args]);

/** redis-cli on a sentinel (`sentinel-1` unless told), as the app's user, which may only ask where the master is and about the group. */
export const sentinelCli = (stack: ExecInService, args: string[], service = 'sentinel-1'): Promise<string> =>
  stack.exec(service, ['sh', '-c', WITH_AUTH.replace('redis-cli', 'redis-cli -p 26379'), 'redis-cli', ...args]);

/** The master's address (an IP address, or a host name when the sentinels announce names) as a sentinel gives it to the app. */
export const sentinelMaster = async (stack: ExecInService, service = 'sentinel-1'): Promise<string> =>
  (await sentinelCli(stack, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'counter'], service)).split('\n')[0]?.trim() ?? '';

/** redis-cli's answer of alternating field and value lines (SENTINEL MASTER) as a record. */
export const fieldsOfLines = (output: string): Record<string, string> => {
  const lines = output.split('\n').map((line) => line.trim());
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) fields[lines[i] ?? ''] = lines[i + 1] ?? '';
  return fields;
};

/** A counter as Redis holds it (through the app's own read function); null when it does not exist. */
export const readCounter = async (stack: ExecInService, namespace: string, key: string): Promise<number | null> => {
  const output = (await redisCli(stack, ['FCALL_RO', 'counter_get', '1', `c:{${namespace}/${key}}`])).trim();
  if (!/^-?\d*$/.test(output)) throw new Error(`counter_get ${namespace}/${key} answered ${JSON.stringify(output)}`);
  return output === '' ? null : Number(output);
};

/** The seed's counter, /count (default/visits); 0 before the first visit. */
export const readVisits = async (stack: ExecInService): Promise<number> => (await readCounter(stack, 'default', 'visits')) ?? 0;
