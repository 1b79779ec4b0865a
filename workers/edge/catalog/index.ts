export { type CatalogBindings, type CatalogRequestDeps, catalogDeps, catalogDepsFor } from "./deps.ts";
export * from "./prices-version.ts";
export { type CacheStatus, ReadThrough } from "./read-through.ts";
export * from "./schemas.ts";
export * from "./service.ts";
export * from "./store.ts";
export * from "./variants.ts";
