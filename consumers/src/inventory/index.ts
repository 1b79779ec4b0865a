export { createRedisEdgeStock, type EdgeStock } from "./edge-stock.ts";
export { createInventoryConsumer, inventoryConsumer } from "./inventory-consumer.ts";
export {
  commitStock,
  type ReserveOutcome,
  releaseStock,
  reserveStock,
  type StockLine,
  shipStock,
} from "./stock-store.ts";
