export {
  type StockInput,
  StockInputSchema,
  type StockLevel,
  StockLevelSchema,
  StockWriteHeadersSchema,
  stockEtag,
} from "./schemas.ts";
export { readStock, writeStock } from "./store.ts";
