export { PRICE_LIST_BODY_LIMIT, PRICE_LIST_PATH, priceListRoutes } from "./routes.ts";
export type { PriceList, PriceListInput } from "./schemas.ts";
