// Reading versions back: checkout of a whole version into a folder, cat of one file.

export { checkout, checkoutSnapshot, type CheckoutOptions, type CheckoutProgress, type CheckoutResult } from "./checkout.js";
export { cat, type CatOptions, type CatResult } from "./cat.js";
export { ChunkCache, defaultCacheDir, isLocalStore } from "./cache.js";
export type { Snapshot } from "./listing.js";
export { folderId, readState, type CheckoutState, type PathRecord } from "./state.js";
