import { randomUUID } from "node:crypto";
import type { OrderPlaced } from "../../../domain/events.ts";

const hex = (): string => randomUUID().replaceAll("-", "");

/** An `order-placed` event with unique event, order and cart ids: two lines, 2 x 12.50 + 1 x 7.99 USD. */
export const samplePlacedOrder = (overrides: Partial<OrderPlaced> = {}): OrderPlaced => ({
  eventId: randomUUID(),
  orderId: `ord_${hex()}`,
  cartId: `cart_${hex()}`,
  email: "ada@example.com",
  items: [
    { productId: "prod_0000001", sku: "SKU-0000001", name: "Copper kettle", qty: 2, unitPriceCents: 1250 },
    { productId: "prod_0000002", sku: "SKU-0000002", name: "Tea towel", qty: 1, unitPriceCents: 799 },
  ],
  subtotalCents: 3299,
  currency: "USD",
  paymentToken: "tok_visa",
  shippingAddress: {
    name: "Ada Lovelace",
    line1: "12 St James's Square",
    city: "London",
    postalCode: "SW1Y 4JH",
    country: "GB",
  },
  placedAt: new Date().toISOString(),
  ...overrides,
});
