export { createRedisEdgeStock, type EdgeStock } from "./edge-stock.ts";
export { createInventoryConsumer, inventoryConsumer } from "./inventory-consumer.ts";
export {
  type ReserveOutcome,
  reserveStock,
  type StockLine,
} from "./stock-store.ts";
