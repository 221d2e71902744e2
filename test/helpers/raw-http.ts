import { connect } from 'node:net';

/**
 * Sends bytes exactly as written to 127.0.0.1:port (for requests fetch and inject would not send
 * as they are: dot segments, bodies on GET, unknown methods) and resolves with the whole answer,
 * once the server closes the connection; rejects when none comes within timeoutMs.
 */
export const rawRequest = (port: number, request: string, timeoutMs = 15_000): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    });
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      resolve(answer);
    });
    socket.write(request);
  });

/** The status code of a raw answer ("HTTP/1.1 400 Bad Request..." is 400). */
export const statusOf = (answer: string): number => Number(answer.slice(9, 12));

/** GET `target` exactly as written, with `Connection: close`; resolves with the status code. */
export const rawGet = async (port: number, target: string): Promise<number> =>
  statusOf(await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
