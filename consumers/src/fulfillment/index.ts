export { createFulfillmentConsumer, type FulfillmentOptions, TRACKING_TASK } from "./fulfillment-consumer.ts";
export {
  type CancelAnswer,
  type FulfillmentProvider,
  FulfillmentProviderUnavailableError,
  type FulfillmentRequest,
  type WarehouseStatus,
} from "./provider.ts";
export { withProviderDeadline } from "./provider-deadline.ts";
export {
  createSimulatedWarehouse,
  SIMULATED_CARRIER,
  type SimulatedWarehouse,
  type SimulatedWarehouseOptions,
  trackingNumberOf,
} from "./simulated-warehouse.ts";
