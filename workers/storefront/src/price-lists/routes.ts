import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { catalogDeps } from "../../../edge/catalog/index.ts";
import { errorResponses, jsonContent } from "../../../platform/openapi.ts";
import { adminAuth, adminSecurity } from "../admin/auth.ts";
import type { StorefrontEnv } from "../env.ts";
import { PriceListInputSchema, PriceListParamsSchema, PriceListSchema } from "./schemas.ts";
import { deletePriceList, getPriceList, putPriceList } from "./service.ts";

/** Bodies of price-list writes (up to 10,000 prices) may be larger than other JSON bodies. */
export const PRICE_LIST_PATH = "/v1/admin/price-lists/*";
export const PRICE_LIST_BODY_LIMIT = 2 * 1024 * 1024;

const security = adminSecurity;
const middleware = [adminAuth];

const putRoute = createRoute({
  method: "put",
  path: "/v1/admin/price-lists/{priceListId}",
  tags: ["admin"],
  summary: "Create or replace a price list: sale prices from a start to an optional end",
  description: [
    "From `startsAt` until `endsAt` each listed variant sells at the list's price when it is lower than",
    "its regular price; where lists overlap the lowest price wins. A write replaces the list's prices",
    "(up to 10,000; the body may be 2 MiB). Every cache holds each product's schedule, so the switch at",
    "`startsAt` and at `endsAt` is exact to the second in catalog answers, carts and checkout, and reads",
    "no Postgres when the list was written ahead of it. Prices for variants that do not exist or sell",
    "in another currency are refused (400, each named). A 503 after Postgres saved the list means the",
    "caches could not be updated: repeat the request.",
  ].join(" "),
  security,
  middleware,
  request: {
    params: PriceListParamsSchema,
    body: { required: true, content: { "application/json": { schema: PriceListInputSchema } } },
  },
  responses: {
    200: jsonContent(PriceListSchema, "the saved list"),
    ...errorResponses("invalid_request", "unauthorized", "payload_too_large", "dependency_unavailable"),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/admin/price-lists/{priceListId}",
  tags: ["admin"],
  summary: "A price list",
  security,
  middleware,
  request: { params: PriceListParamsSchema },
  responses: {
    200: jsonContent(PriceListSchema, "the list"),
    ...errorResponses("invalid_request", "unauthorized", "price_list_not_found", "dependency_unavailable"),
  },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/admin/price-lists/{priceListId}",
  tags: ["admin"],
  summary: "End a price list now (it stays readable with `endsAt` set)",
  security,
  middleware,
  request: { params: PriceListParamsSchema },
  responses: {
    200: jsonContent(PriceListSchema, "the ended list"),
    ...errorResponses("invalid_request", "unauthorized", "price_list_not_found", "dependency_unavailable"),
  },
});

export const priceListRoutes = new OpenAPIHono<StorefrontEnv>()
  .openapi(putRoute, async (c) => {
    const list = await putPriceList(catalogDeps(c), c.req.valid("param").priceListId, c.req.valid("json"));
    return c.json(list, 200);
  })
  .openapi(getRoute, async (c) =>
    c.json(await getPriceList(catalogDeps(c), c.req.valid("param").priceListId), 200),
  )
  .openapi(deleteRoute, async (c) =>
    c.json(await deletePriceList(catalogDeps(c), c.req.valid("param").priceListId), 200),
  );
