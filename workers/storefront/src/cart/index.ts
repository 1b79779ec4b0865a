// The cart domain lives in the shared edge module (both workers use it); this worker adds its routes.
export * from "../../../edge/cart/index.ts";
export { cartRoutes } from "./routes.ts";
