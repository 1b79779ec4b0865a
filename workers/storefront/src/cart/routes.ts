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
import { cartChangeDeps } from "./rate-limit.ts";

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
    ...errorResponses("invalid_request", "cart_not_found", "rate_limited", "dependency_unavailable"),
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
  path: "/v1/carts/{cartId}/items/{variantId}",
  tags: ["cart"],
  summary: "Set the quantity of a line (0 removes it)",
  request: { params: CartLineParamsSchema, body: json(SetQtySchema) },
  responses: { 200: jsonContent(CartSchema, "the cart"), ...mutationErrors },
});

const removeItemRoute = createRoute({
  method: "delete",
  path: "/v1/carts/{cartId}/items/{variantId}",
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

// Every change counts against the client's limit inside its own Redis script (rate-limit.ts).
export const cartRoutes = new OpenAPIHono<StorefrontEnv>()
  .openapi(createCartRoute, async (c) => c.json(await createCart(cartChangeDeps(c)), 201))
  .openapi(getCartRoute, async (c) => c.json(await getCart(cartDeps(c), c.req.valid("param").cartId), 200))
  .openapi(addItemRoute, async (c) => {
    const body = c.req.valid("json");
    // Every product has one variant today, whose id is the product's: either names the line.
    const pick = "variantId" in body ? { variantId: body.variantId } : { productId: body.productId };
    return c.json(await addItem(cartChangeDeps(c), c.req.valid("param").cartId, pick, body.qty), 200);
  })
  .openapi(setQtyRoute, async (c) => {
    const { cartId, variantId } = c.req.valid("param");
    return c.json(await setItemQty(cartChangeDeps(c), cartId, variantId, c.req.valid("json").qty), 200);
  })
  .openapi(removeItemRoute, async (c) => {
    const { cartId, variantId } = c.req.valid("param");
    return c.json(await removeItem(cartChangeDeps(c), cartId, variantId), 200);
  })
  .openapi(deleteCartRoute, async (c) => {
    await deleteCart(cartChangeDeps(c), c.req.valid("param").cartId);
    return c.body(null, 204);
  });
