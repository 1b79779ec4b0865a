import { z } from "zod";
import { CustomerIdSchema, OrderIdSchema, ProductIdSchema } from "./events.ts";
import { CentsSchema, CurrencySchema } from "./money.ts";
import { CancelReasonSchema, OrderStatusSchema, ShipmentSchema } from "./order-events.ts";

/** The API's Order: what `POST /v1/checkout` answers and `GET /v1/orders/:id` reads. */
export const OrderSchema = z.object({
  orderId: OrderIdSchema,
  status: OrderStatusSchema,
  reason: CancelReasonSchema.optional(),
  email: z.email(),
  items: z.array(
    z.object({
      productId: ProductIdSchema,
      sku: z.string(),
      name: z.string(),
      qty: z.number().int().min(1),
      unitPriceCents: CentsSchema,
      lineTotalCents: CentsSchema,
    }),
  ),
  subtotalCents: CentsSchema,
  currency: CurrencySchema,
  /** Present once the order is `shipped`. */
  shipment: ShipmentSchema.optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Order = z.infer<typeof OrderSchema>;

/**
 * The fast status record of an order in Redis: the Order as JSON under this key. Checkout writes it
 * (pending); the order-state consumer rewrites `status`, `reason` and `updatedAt` when the order is
 * final. When it has expired or is missing, readers fall back to Postgres.
 */
/**
 * What the status record holds: the Order and, when checkout wrote it, its owner (`customerId`, null
 * for a guest order). A record without the field (written from Postgres by the pipeline) leaves the
 * owner to be read from Postgres.
 */
export const OrderRecordSchema = OrderSchema.extend({ customerId: CustomerIdSchema.nullable().optional() });
export type OrderRecord = z.infer<typeof OrderRecordSchema>;

export const orderStatusKey = (orderId: string): string => `order:${orderId}`;
export const ORDER_STATUS_TTL_SECONDS = 30 * 24 * 3600;
