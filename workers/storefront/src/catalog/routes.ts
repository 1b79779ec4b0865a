import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { etag } from "hono/etag";
import type { CacheStatus } from "../../../edge/catalog/index.ts";
import {
  CategoryListSchema,
  catalogDeps,
  getProduct,
  isCurrentProduct,
  listCategories,
  listProducts,
  OPTION_FILTER_PREFIX,
  optionFilters,
  ProductListQuerySchema,
  ProductPageSchema,
  ProductParamsSchema,
  ProductSchema,
} from "../../../edge/catalog/index.ts";
import { errorResponses, jsonContent } from "../../../platform/openapi.ts";
import type { StorefrontEnv } from "../env.ts";
import { withAvailability } from "./availability.ts";
import { EDGE_STALE_IF_ERROR_SECONDS, edgeCache, VERSION } from "./edge-cache.ts";

const cacheControl = (maxAge: number) =>
  `public, max-age=${maxAge}, stale-while-revalidate=${maxAge * 2}, stale-if-error=${EDGE_STALE_IF_ERROR_SECONDS}`;

const cacheHeaders = {
  "Cache-Control": { schema: { type: "string" as const } },
  ETag: { schema: { type: "string" as const } },
  "X-Cache": {
    description:
      "how the Redis catalog cache answered: HIT, MISS (read from Postgres now) or STALE (an older copy, served while it is refreshed or because Redis or Postgres failed; also the edge copy kept past its max-age when both fail)",
    schema: { type: "string" as const, enum: ["HIT", "MISS", "STALE"] },
  },
  "X-Edge-Cache": {
    description:
      "whether the edge cache of the colo answered: HIT, MISS (stored now) or STALE (stale-if-error)",
    schema: { type: "string" as const, enum: ["HIT", "MISS", "STALE"] },
  },
};

const listProductsRoute = createRoute({
  method: "get",
  path: "/v1/products",
  tags: ["catalog"],
  summary: "List products, by category, option values or full-text search, with keyset pagination",
  description: [
    "Option filters: `option.<name>=<value>` (up to 3, e.g. `option.Size=M&option.Colour=Red`) lists",
    "the products that have a variant with every value asked for. Names and values are matched exactly.",
  ].join(" "),
  request: { query: ProductListQuerySchema },
  responses: {
    200: { ...jsonContent(ProductPageSchema, "a page of products"), headers: cacheHeaders },
    304: { description: "not modified (If-None-Match)" },
    ...errorResponses("invalid_request", "rate_limited", "dependency_unavailable"),
  },
});

const getProductRoute = createRoute({
  method: "get",
  path: "/v1/products/{productId}",
  tags: ["catalog"],
  summary: "One product",
  request: { params: ProductParamsSchema },
  responses: {
    200: { ...jsonContent(ProductSchema, "the product"), headers: cacheHeaders },
    304: { description: "not modified (If-None-Match)" },
    ...errorResponses("invalid_request", "product_not_found", "rate_limited", "dependency_unavailable"),
  },
});

const listCategoriesRoute = createRoute({
  method: "get",
  path: "/v1/categories",
  tags: ["catalog"],
  summary: "Categories with their product counts",
  responses: {
    200: { ...jsonContent(CategoryListSchema, "every category"), headers: cacheHeaders },
    304: { description: "not modified (If-None-Match)" },
    ...errorResponses("rate_limited", "dependency_unavailable"),
  },
});

const routes = new OpenAPIHono<StorefrontEnv>();

/** Edge copies of products hold their schedule of prices: a price-list write makes them all old. */
const pricesVersion = (c: Context<StorefrontEnv>) => catalogDeps(c).pricesVersion();

// The price of the moment and availability are added outside the edge cache (which keeps products
// with their schedule and without availability), inside the ETag.
routes.use(
  "/v1/products",
  etag(),
  withAvailability(),
  edgeCache({
    keyParams: ["category", "q", "cursor", "limit"],
    keyParamPrefixes: [OPTION_FILTER_PREFIX],
    keyVersion: pricesVersion,
  }),
);
routes.use(
  "/v1/products/:productId",
  etag(),
  withAvailability(),
  edgeCache({
    keyVersion: pricesVersion,
    stillCurrent: (c, version) => isCurrentProduct(catalogDeps(c), c.req.param("productId") ?? "", version),
  }),
);
routes.use("/v1/categories", etag(), edgeCache());

const describeCache = (status: CacheStatus, maxAge: number) => ({
  "X-Cache": status,
  "Cache-Control": cacheControl(maxAge),
});

export const catalogRoutes = routes
  .openapi(listProductsRoute, async (c) => {
    const deps = catalogDeps(c);
    const query = { ...c.req.valid("query"), ...optionFilters(c.req.queries()) };
    const { value, status } = await listProducts(deps, query);
    return c.json(value, 200, describeCache(status, deps.listMaxAge));
  })
  .openapi(getProductRoute, async (c) => {
    const deps = catalogDeps(c);
    const { product, version, status } = await getProduct(deps, c.req.valid("param").productId);
    return c.json(product, 200, { ...describeCache(status, deps.productMaxAge), [VERSION]: String(version) });
  })
  .openapi(listCategoriesRoute, async (c) => {
    const deps = catalogDeps(c);
    const { value, status } = await listCategories(deps);
    return c.json({ items: value }, 200, describeCache(status, deps.listMaxAge));
  });
