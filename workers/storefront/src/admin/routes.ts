import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { timingSafeEqual } from "hono/utils/buffer";
import { AppError } from "../../../../domain/errors.ts";
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

const ProductParams = z.object({
  productId: ProductIdSchema.openapi({ param: { name: "productId", in: "path" }, example: "prod_0000001" }),
});

const StockSchema = z
  .object({ productId: ProductIdSchema, available: z.number().int(), reserved: z.number().int() })
  .openapi("StockLevel");

const StockInputSchema = z
  .strictObject({ available: z.number().int().min(0).max(1_000_000_000) })
  .openapi("StockInput");

const security = [{ adminToken: [] }];
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
  request: { params: ProductParams },
  responses: { 200: jsonContent(StockSchema, "the stock level"), ...authErrors },
});

export const adminRoutes = new OpenAPIHono<StorefrontEnv>();

// Every admin route needs `Authorization: Bearer $ADMIN_TOKEN`, compared in constant time.
adminRoutes.use("/v1/admin/*", async (c, next) => {
  const [scheme, token] = (c.req.header("Authorization") ?? "").split(" ", 2);
  const expected = c.env.ADMIN_TOKEN;
  const valid = scheme === "Bearer" && !!token && !!expected && (await timingSafeEqual(token, expected));
  if (!valid) {
    c.header("WWW-Authenticate", 'Bearer realm="admin"');
    throw new AppError("unauthorized", "a valid admin bearer token is required");
  }
  await next();
});

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
