export { type CartBindings, cartDeps, cartDepsFor } from "./deps.ts";
export * from "./schemas.ts";
export { CATALOG, CLOCK, SETTLE } from "./scripts.ts";
export * from "./service.ts";
export { CartStore, type ClientLimit, cartKey, decodeCart, type StoredCart } from "./store.ts";
