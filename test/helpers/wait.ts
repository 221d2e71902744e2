/** Polls until check() is true; resolves with the time it took, rejects after timeoutMs. */
export const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<number> => {
  const started = Date.now();
  for (;;) {
    let lastError = '';
    try {
      if (await check()) return Date.now() - started;
    } catch (error) {
      lastError = ` (last error: ${String(error)})`;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms${lastError}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
};
