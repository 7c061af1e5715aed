// Bounded parallel loops that stop starting work at the first failure and wait for
// the tasks already running before they reject: cleanup after a failure (a checkout's
// temp files, a store's requests) must not race with work still in flight.

/** Runs `fn` over `items`, at most `limit` at once; rejects with the first error once all started tasks settled. */
export async function eachLimited<T>(items: ArrayLike<T>, limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Math.max(1, Math.min(limit, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure !== undefined) throw failure.error;
}

/** Like eachLimited, collecting results in input order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  await eachLimited(items, limit, async (item, i) => {
    out[i] = await fn(item, i);
  });
  return out;
}
