import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import {
  AddItemSchema,
  addItem,
  CartLineParamsSchema,
  CartParamsSchema,
  CartSchema,
  cartDeps,
  createCart,
  deleteCart,
  getCart,
  removeItem,
  SetQtySchema,
  setItemQty,
} from "../../../edge/cart/index.ts";
import { errorResponses, jsonContent } from "../../../platform/openapi.ts";
import type { StorefrontEnv } from "../env.ts";
import { cartRateLimit } from "./rate-limit.ts";

const json = <T>(schema: T) => ({ required: true, content: { "application/json": { schema } } });
const mutationErrors = errorResponses(
  "invalid_request",
  "cart_not_found",
  "product_not_found",
  "payload_too_large",
  "quantity_limit",
  "checkout_in_progress",
  "rate_limited",
  "dependency_unavailable",
);

const createCartRoute = createRoute({
  method: "post",
  path: "/v1/carts",
  tags: ["cart"],
  summary: "Create an empty cart",
  responses: {
    201: jsonContent(CartSchema, "the new cart"),
    ...errorResponses("rate_limited", "dependency_unavailable"),
  },
});

const getCartRoute = createRoute({
  method: "get",
  path: "/v1/carts/{cartId}",
  tags: ["cart"],
  summary: "A cart, priced from the catalog",
  request: { params: CartParamsSchema },
  responses: {
    200: jsonContent(CartSchema, "the cart"),
    ...errorResponses("invalid_request", "cart_not_found", "dependency_unavailable"),
  },
});

const addItemRoute = createRoute({
  method: "post",
  path: "/v1/carts/{cartId}/items",
  tags: ["cart"],
  summary: "Add a quantity of a product (adds to an existing line)",
  request: { params: CartParamsSchema, body: json(AddItemSchema) },
  responses: { 200: jsonContent(CartSchema, "the cart"), ...mutationErrors },
});

const setQtyRoute = createRoute({
  method: "put",
  path: "/v1/carts/{cartId}/items/{productId}",
  tags: ["cart"],
  summary: "Set the quantity of a line (0 removes it)",
  request: { params: CartLineParamsSchema, body: json(SetQtySchema) },
  responses: { 200: jsonContent(CartSchema, "the cart"), ...mutationErrors },
});

const removeItemRoute = createRoute({
  method: "delete",
  path: "/v1/carts/{cartId}/items/{productId}",
  tags: ["cart"],
  summary: "Remove a line",
  request: { params: CartLineParamsSchema },
  responses: { 200: jsonContent(CartSchema, "the cart"), ...mutationErrors },
});

const deleteCartRoute = createRoute({
  method: "delete",
  path: "/v1/carts/{cartId}",
  tags: ["cart"],
  summary: "Delete a cart",
  request: { params: CartParamsSchema },
  responses: { 204: { description: "deleted" }, ...mutationErrors },
});

const routes = new OpenAPIHono<StorefrontEnv>();

// "/v1/carts/*" also matches "/v1/carts" itself, so each change is counted once.
routes.on(["POST", "PUT", "DELETE"], "/v1/carts/*", cartRateLimit);

export const cartRoutes = routes
  .openapi(createCartRoute, async (c) => c.json(await createCart(cartDeps(c)), 201))
  .openapi(getCartRoute, async (c) => c.json(await getCart(cartDeps(c), c.req.valid("param").cartId), 200))
  .openapi(addItemRoute, async (c) => {
    const { productId, qty } = c.req.valid("json");
    return c.json(await addItem(cartDeps(c), c.req.valid("param").cartId, productId, qty), 200);
  })
  .openapi(setQtyRoute, async (c) => {
    const { cartId, productId } = c.req.valid("param");
    return c.json(await setItemQty(cartDeps(c), cartId, productId, c.req.valid("json").qty), 200);
  })
  .openapi(removeItemRoute, async (c) => {
    const { cartId, productId } = c.req.valid("param");
    return c.json(await removeItem(cartDeps(c), cartId, productId), 200);
  })
  .openapi(deleteCartRoute, async (c) => {
    await deleteCart(cartDeps(c), c.req.valid("param").cartId);
    return c.body(null, 204);
  });
