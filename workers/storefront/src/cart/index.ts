export { type CartBindings, cartDeps, cartDepsFor } from "./deps.ts";
export { type Cart, CartSchema } from "./schemas.ts";
export { type CartDeps, clearCart, priceCart, readCart } from "./service.ts";
export { CartStore, type StoredCart } from "./store.ts";
