// The engine the stored logic runs on. Everything outside stored/host/ imports the host
// from here; a build for another engine (PL/v8) points these exports at its own module.

import type * as engine from "./pllua";
import type { Host } from "./types";

export * from "./pllua";
export type { Bytes, SqlArray, SqlInterval, SqlJson, TriggerEvent } from "./types";

/** Fails to compile when the engine module lacks a Host function or types one differently. */
export type Implements<T extends Host> = T;
export type Engine = Implements<typeof engine>;
