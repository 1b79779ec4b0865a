import { type Order, OrderSchema } from "../domain/orders.ts";
import type { OrderLineRow, OrderRow } from "./schema/orders.ts";
import type { PaymentRow } from "./schema/payments.ts";

/**
 * The API's Order from its row and lines in Postgres, the system of record, and its payment when
 * known: a pending order whose payment waits for the shopper shows `requires_action` with the client
 * secret the frontend finishes it with.
 */
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
    | "productId"
    | "variantId"
    | "options"
    | "sku"
    | "name"
    | "qty"
    | "unitPriceCents"
    | "compareAtPriceCents"
    | "lineTotalCents"
  >[],
  payment?: Pick<PaymentRow, "status" | "clientSecret">,
): Order => {
  const action =
    row.status === "pending" && payment?.status === "requires_action" && payment.clientSecret
      ? { clientSecret: payment.clientSecret }
      : undefined;
  return OrderSchema.parse({
    orderId: row.orderId,
    status: action ? "requires_action" : row.status,
    ...(action ? { payment: action } : {}),
    ...(row.reason ? { reason: row.reason } : {}),
    email: row.email,
    items: lines.map((line) => ({
      productId: line.productId,
      variantId: line.variantId,
      sku: line.sku,
      name: line.name,
      options: line.options,
      qty: line.qty,
      unitPriceCents: line.unitPriceCents,
      ...(line.compareAtPriceCents !== null ? { compareAtPriceCents: line.compareAtPriceCents } : {}),
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
};
