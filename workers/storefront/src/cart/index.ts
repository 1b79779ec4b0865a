export { type CartBindings, cartDeps, cartDepsFor } from "./deps.ts";
export { type Cart, CartSchema } from "./schemas.ts";
export { CLOCK, SETTLE } from "./scripts.ts";
export {
  announce,
  type CartDeps,
  createCart,
  type MergeResult,
  mergeCart,
  newCartId,
  priceCart,
  readCart,
} from "./service.ts";
export { CartStore, cartKey, decodeCart, type StoredCart } from "./store.ts";
