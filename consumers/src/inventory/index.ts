export { inventoryConsumer } from "./inventory-consumer.ts";
export {
  commitStock,
  type ReserveOutcome,
  releaseStock,
  reserveStock,
  type StockLine,
} from "./stock-store.ts";
