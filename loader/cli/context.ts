// What every command shares: opening Strata for the duration of one command.

import { Strata } from "../strata.js";

export async function withStrata<T>(fn: (s: Strata) => Promise<T>): Promise<T> {
  const strata = await Strata.open();
  try {
    return await fn(strata);
  } finally {
    await strata.close();
  }
}
