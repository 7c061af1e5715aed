// The SQL surface of the stored logic, declared once. `npm run build` turns each entry
// into a PL/Lua wrapper in schema strata that forwards to `api[name]` in the bundle
// (stored/main.ts must export an implementation for every name: the type checker
// enforces it). Plain data, so the Node build script can read it too.

export interface SqlArg {
  readonly name: string;
  readonly type: string;
  /** SQL default expression; arguments after one with a default need one too. */
  readonly default?: string;
}

export interface EntryPoint {
  readonly name: string;
  readonly args: readonly SqlArg[];
  /** SQL return type: `bigint`, `setof strata.v_datasets`, `table(a int, b text)`, `trigger`. */
  readonly returns: string;
  readonly volatility: "volatile" | "stable" | "immutable";
  readonly security?: "invoker" | "definer";
  readonly comment: string;
}

export const entryPoints = [
  {
    name: "create_dataset",
    args: [
      { name: "name", type: "text" },
      { name: "description", type: "text", default: "null" },
    ],
    returns: "bigint",
    volatility: "volatile",
    comment: "Create a dataset and return its id; names are 1-128 of [A-Za-z0-9._-], starting with a letter or digit.",
  },
  {
    name: "datasets",
    args: [],
    returns: "setof strata.v_datasets",
    volatility: "stable",
    comment: "All datasets with their version count and latest version, oldest first.",
  },
] as const satisfies readonly EntryPoint[];

export type EntryName = (typeof entryPoints)[number]["name"];
