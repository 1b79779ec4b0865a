import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ProductIdSchema } from "../../../../domain/events.ts";
import { TOPICS } from "../../../../domain/topics.ts";
import { stockCounter } from "../../../edge/stock/index.ts";
import { dbClient, publishEvent } from "../../../platform/clients.ts";
import { errorResponses, jsonContent } from "../../../platform/openapi.ts";
import {
  catalogDeps,
  forgetAvailability,
  ProductInputSchema,
  ProductSchema,
  purgeEdge,
  upsertProduct,
  withStock,
} from "../catalog/index.ts";
import type { StorefrontEnv } from "../env.ts";
import {
  readStock,
  StockInputSchema,
  type StockLevel,
  StockLevelSchema,
  StockWriteHeadersSchema,
  stockEtag,
  writeStock,
} from "../inventory/index.ts";
import { adminAuth, adminSecurity } from "./auth.ts";

const ProductParams = z.object({
  productId: ProductIdSchema,
});
const VariantParams = z.object({
  variantId: ProductIdSchema.openapi({
    description: "the variant (for a one-variant product: the product's id)",
  }),
});

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
  description: [
    "Upserts the product in Postgres, which gives the new state a version (one higher per write), then",
    "writes it through to the Redis catalog cache and purges this colo's edge copy. Every cache entry",
    "carries that version and is never replaced by a lower one, so of racing updates the one Postgres",
    "committed last is what every cache serves, and no checkout after this answer is priced from an",
    "earlier state. If the cache cannot be written the answer is 503 `dependency_unavailable` although",
    "Postgres has the update: repeat the request.",
  ].join(" "),
  security,
  middleware,
  request: {
    params: ProductParams,
    body: { required: true, content: { "application/json": { schema: ProductInputSchema } } },
  },
  responses: { 200: jsonContent(ProductSchema, "the saved product"), ...authErrors },
});

const stockHeaders = {
  ETag: { description: "the stock's version as a strong entity tag", schema: { type: "string" as const } },
};

const putStockRoute = createRoute({
  method: "put",
  path: "/v1/admin/inventory/{variantId}",
  tags: ["admin"],
  summary: "Set or adjust the available stock of a variant (a one-variant product: its id), atomically",
  description: [
    '`{"available": n}` sets the sellable stock; `{"delta": d}` adds to or takes from it (exactly one of',
    "the two). Each write is one SQL statement on the stock row as the last commit left it, so",
    "reservations of checkouts committing at the same time are never lost: after setting `available`",
    "to n, at most n more units can be sold, and units already held by pending orders stay in",
    "`reserved`. `available` never goes below zero: a delta that would take it there changes nothing",
    "and is answered 409 `insufficient_stock` (`details`: the stock as it is now). With",
    "`If-Match: <version>` the write applies only if the stock's `version` is still that one, else",
    "412 `precondition_failed` (`details` and `ETag`: the current stock). Every answer carries the",
    "new version as `ETag`.",
  ].join(" "),
  security,
  middleware,
  request: {
    params: VariantParams,
    headers: StockWriteHeadersSchema,
    body: { required: true, content: { "application/json": { schema: StockInputSchema } } },
  },
  responses: {
    200: { ...jsonContent(StockLevelSchema, "the stock level after the write"), headers: stockHeaders },
    ...errorResponses(
      "invalid_request",
      "unauthorized",
      "product_not_found",
      "insufficient_stock",
      "precondition_failed",
      "dependency_unavailable",
    ),
  },
});

const getStockRoute = createRoute({
  method: "get",
  path: "/v1/admin/inventory/{variantId}",
  tags: ["admin"],
  summary: "Stock of a variant: available, held by pending orders, and its version",
  security,
  middleware,
  request: { params: VariantParams },
  responses: {
    200: { ...jsonContent(StockLevelSchema, "the stock level"), headers: stockHeaders },
    ...authErrors,
  },
});

const stockAnswer = (stock: StockLevel) => ({ ETag: stockEtag(stock), "Cache-Control": "no-store" });

export const adminRoutes = new OpenAPIHono<StorefrontEnv>()
  .openapi(putProductRoute, async (c) => {
    const { productId } = c.req.valid("param");
    try {
      const product = await upsertProduct(
        catalogDeps(c),
        {
          publish: (event) => publishEvent(c.env, TOPICS.catalogUpdated, event, event.productId),
          background: (work) => c.executionCtx.waitUntil(work),
        },
        productId,
        c.req.valid("json"),
      );
      const [answer] = await withStock(c.env, [product]);
      if (!answer) throw new Error(`product ${productId} was saved but not answered`);
      return c.json(answer, 200);
    } finally {
      // Also after a failure: Postgres may hold the update even when the answer is an error.
      const deps = catalogDeps(c);
      await purgeEdge([`/v1/products/${productId}`], await deps.pricesVersion());
      await purgeEdge(["/v1/categories"]);
    }
  })
  .openapi(putStockRoute, async (c) => {
    const stock = await writeStock(
      dbClient(c.env),
      c.req.valid("param").variantId,
      c.req.valid("json"),
      c.req.valid("header")["if-match"],
    );
    await stockCounter(c.env).syncWritten([stock]);
    forgetAvailability([stock.variantId]);
    return c.json(stock, 200, stockAnswer(stock));
  })
  .openapi(getStockRoute, async (c) => {
    const stock = await readStock(dbClient(c.env), c.req.valid("param").variantId);
    return c.json(stock, 200, stockAnswer(stock));
  });
