// The catalog read path lives in the shared edge module (both workers use it); this worker adds its
// routes, the edge cache and live availability.
export * from "../../../edge/catalog/index.ts";
export { forgetAvailability, withAvailability, withStock } from "./availability.ts";
export { purgeEdge } from "./edge-cache.ts";
export { catalogRoutes } from "./routes.ts";
