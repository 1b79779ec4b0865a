// The checkout worker's routes as clients see them: declared once, implemented by the checkout worker,
// forwarded and documented by the storefront under the same base URL.
export { CHECKOUT_API_ROUTES, checkoutRoute, getOrderRoute } from "./routes.ts";
export { type CheckoutBody, CheckoutBodySchema, IdempotencyKeySchema } from "./schemas.ts";
