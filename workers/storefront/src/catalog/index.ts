export { forgetAvailability, withAvailability, withStock } from "./availability.ts";
export { type CatalogBindings, catalogDeps, catalogDepsFor } from "./deps.ts";
export { purgeEdge } from "./edge-cache.ts";
export { catalogRoutes } from "./routes.ts";
export type { Product, ProductInput } from "./schemas.ts";
export { ProductInputSchema, ProductSchema } from "./schemas.ts";
export { type CatalogDeps, getProduct, getProducts, productKey, upsertProduct } from "./service.ts";
