export { cartDeps } from "./deps.ts";
export { cartRoutes } from "./routes.ts";
export { type Cart, CartSchema } from "./schemas.ts";
export { type CartDeps, priceCart, readCart } from "./service.ts";
export { CartStore, type StoredCart } from "./store.ts";
