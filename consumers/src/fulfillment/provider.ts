import type { ShippingAddress } from "../../../domain/events.ts";
import type { Shipment } from "../../../domain/order-events.ts";

/**
 * What the fulfillment step needs of a warehouse (a third-party logistics API: ShipBob, ShipStation,
 * a Shopify fulfillment service). The order id is the idempotency key of every call: requesting the
 * same order again never creates a second fulfillment, and cancelling twice is a no-op.
 */
export interface FulfillmentProvider {
  /** Hands the order to the warehouse, which ships it when it is packed. */
  request(request: FulfillmentRequest): Promise<void>;
  /** Where the order is at the warehouse (polled until it has shipped). */
  status(orderId: string): Promise<WarehouseStatus>;
  /** Asks the warehouse not to ship the order; answers `shipped` when it is too late for that. */
  cancel(orderId: string): Promise<CancelAnswer>;
}

export interface FulfillmentRequest {
  /** The idempotency key. */
  orderId: string;
  shippingAddress: ShippingAddress;
  items: { productId: string; variantId: string; sku: string; name: string; qty: number }[];
}

export type WarehouseStatus =
  /** The warehouse has no request for the order (never received, or lost): request it again. */
  | { state: "unknown" }
  | { state: "in_progress" }
  | { state: "shipped"; shipment: Shipment }
  | { state: "cancelled" };

export type CancelAnswer = "cancelled" | "shipped";

/** The warehouse could not be reached or failed in a way worth retrying (timeouts, 5xx, rate limits). */
export class FulfillmentProviderUnavailableError extends Error {
  readonly transient = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FulfillmentProviderUnavailableError";
  }
}
