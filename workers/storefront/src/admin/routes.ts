import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ProductIdSchema } from "../../../../domain/events.ts";
import { TOPICS } from "../../../../domain/topics.ts";
import { dbClient, kafkaClient } from "../../../platform/clients.ts";
import { errorResponses, jsonContent } from "../../../platform/openapi.ts";
import {
  catalogDeps,
  ProductInputSchema,
  ProductSchema,
  purgeEdge,
  upsertProduct,
} from "../catalog/index.ts";
import type { StorefrontEnv } from "../env.ts";
import { readStock, setAvailable } from "../inventory/index.ts";
import { adminAuth, adminSecurity } from "./auth.ts";

const ProductParams = z.object({
  productId: ProductIdSchema,
});

const StockSchema = z
  .object({ productId: ProductIdSchema, available: z.number().int(), reserved: z.number().int() })
  .openapi("StockLevel");

const StockInputSchema = z
  .strictObject({ available: z.number().int().min(0).max(1_000_000_000) })
  .openapi("StockInput");

// Every admin route checks the bearer token before anything else (see auth.ts).
const security = adminSecurity;
const middleware = [adminAuth];
const authErrors = errorResponses(
  "invalid_request",
  "unauthorized",
  "product_not_found",
  "dependency_unavailable",
);

const putProductRoute = createRoute({
  method: "put",
  path: "/v1/admin/products/{productId}",
  tags: ["admin"],
  summary: "Create or replace a product; every cache serves it to the next request",
  security,
  middleware,
  request: {
    params: ProductParams,
    body: { required: true, content: { "application/json": { schema: ProductInputSchema } } },
  },
  responses: { 200: jsonContent(ProductSchema, "the saved product"), ...authErrors },
});

const putStockRoute = createRoute({
  method: "put",
  path: "/v1/admin/inventory/{productId}",
  tags: ["admin"],
  summary: "Set the available stock of a product",
  security,
  middleware,
  request: {
    params: ProductParams,
    body: { required: true, content: { "application/json": { schema: StockInputSchema } } },
  },
  responses: { 200: jsonContent(StockSchema, "the stock level"), ...authErrors },
});

const getStockRoute = createRoute({
  method: "get",
  path: "/v1/admin/inventory/{productId}",
  tags: ["admin"],
  summary: "Stock of a product: available and held by pending orders",
  security,
  middleware,
  request: { params: ProductParams },
  responses: { 200: jsonContent(StockSchema, "the stock level"), ...authErrors },
});

export const adminRoutes = new OpenAPIHono<StorefrontEnv>();

adminRoutes.openapi(putProductRoute, async (c) => {
  const { productId } = c.req.valid("param");
  const product = await upsertProduct(
    catalogDeps(c),
    {
      publish: (event) =>
        kafkaClient(c.env).producer().produce(TOPICS.catalogUpdated, event, { key: event.productId }),
      background: (work) => c.executionCtx.waitUntil(work),
    },
    productId,
    c.req.valid("json"),
  );
  await purgeEdge([`/v1/products/${productId}`, "/v1/categories"]);
  return c.json(product, 200);
});

adminRoutes.openapi(putStockRoute, async (c) => {
  const stock = await setAvailable(
    dbClient(c.env),
    c.req.valid("param").productId,
    c.req.valid("json").available,
  );
  return c.json(stock, 200);
});

adminRoutes.openapi(getStockRoute, async (c) => {
  return c.json(await readStock(dbClient(c.env), c.req.valid("param").productId), 200);
});
