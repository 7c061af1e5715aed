// Small conveniences over pg for tests.

import pg from "pg";
import type { TestLike } from "./harness.js";

export async function connect(t: TestLike, url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  t.teardown(() => c.end());
  return c;
}

/** The SQLSTATE of the error `fn` raises (fails the test when it raises none). */
export async function sqlstateOf(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}
