import { type Order, OrderSchema } from "../domain/orders.ts";
import type { OrderLineRow, OrderRow } from "./schema/orders.ts";

/** The API's Order from its row and lines in Postgres, the system of record. */
export const orderFromRows = (
  row: Pick<
    OrderRow,
    | "orderId"
    | "status"
    | "reason"
    | "email"
    | "subtotalCents"
    | "currency"
    | "placedAt"
    | "updatedAt"
    | "carrier"
    | "trackingNumber"
    | "shippedAt"
  >,
  lines: readonly Pick<
    OrderLineRow,
    "productId" | "sku" | "name" | "qty" | "unitPriceCents" | "lineTotalCents"
  >[],
): Order =>
  OrderSchema.parse({
    orderId: row.orderId,
    status: row.status,
    ...(row.reason ? { reason: row.reason } : {}),
    email: row.email,
    items: lines.map((line) => ({
      productId: line.productId,
      sku: line.sku,
      name: line.name,
      qty: line.qty,
      unitPriceCents: line.unitPriceCents,
      lineTotalCents: line.lineTotalCents,
    })),
    subtotalCents: row.subtotalCents,
    currency: row.currency,
    ...(row.carrier && row.trackingNumber && row.shippedAt
      ? {
          shipment: {
            carrier: row.carrier,
            trackingNumber: row.trackingNumber,
            shippedAt: row.shippedAt.toISOString(),
          },
        }
      : {}),
    createdAt: row.placedAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  });
