import { z } from "zod";
import {
  CustomerIdSchema,
  lineVariantId,
  OrderIdSchema,
  type OrderPlaced,
  ProductIdSchema,
} from "./events.ts";
import { CentsSchema, CurrencySchema } from "./money.ts";
import {
  CancelReasonSchema,
  OrderViewStatusSchema,
  PaymentActionSchema,
  ShipmentSchema,
} from "./order-events.ts";
import { totalLines } from "./pricing.ts";

/** The API's Order: what `POST /v1/checkout` answers and `GET /v1/orders/:id` reads. */
export const OrderSchema = z.object({
  orderId: OrderIdSchema,
  status: OrderViewStatusSchema,
  reason: CancelReasonSchema.optional(),
  email: z.email(),
  items: z.array(
    z
      .object({
        productId: ProductIdSchema,
        /** Every product has one variant today, whose id is the product's. */
        variantId: ProductIdSchema.optional(),
        sku: z.string(),
        name: z.string(),
        options: z.record(z.string(), z.string()).optional(),
        qty: z.number().int().min(1),
        unitPriceCents: CentsSchema,
        /** The regular unit price, present when a price list lowered it. */
        compareAtPriceCents: CentsSchema.optional(),
        lineTotalCents: CentsSchema,
      })
      // Status records written before lines named their variant read as their one variant.
      .transform((item) => ({
        ...item,
        variantId: item.variantId ?? item.productId,
        options: item.options ?? {},
      })),
  ),
  subtotalCents: CentsSchema,
  currency: CurrencySchema,
  /** Present once the order is `shipped`. */
  shipment: ShipmentSchema.optional(),
  /** Present while the order is `requires_action`: the frontend finishes the payment with it. */
  payment: PaymentActionSchema.optional(),
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

/**
 * The durable effect (consumers/src/runtime/effects.ts) that rewrites an order's status record: a row
 * of this kind keyed by the order id, with the status to write or `{}` for "what Postgres says".
 */
export const ORDER_STATUS_EFFECT = "order-status";
export const ORDER_STATUS_TTL_SECONDS = 30 * 24 * 3600;

/**
 * Orders Kafka acknowledged, until the pipeline is seen to have recorded them: a sorted set of order
 * ids scored by the acknowledgement's time (ms), and per order a hash: `p` its `OrderPlaced`
 * payload, `n` how often reconciliation published it again. Checkout
 * adds an order when Kafka acknowledges it; the orders consumer's reconciliation removes those that
 * reached Postgres and publishes again those that did not (acknowledged means durable: an order lost
 * on the way is found and repaired, or at least reported).
 */
export const ACKED_ORDERS_KEY = "orders:acked";
export const ackedOrderKey = (orderId: string): string => `acked:${orderId}`;
/** How long an acknowledged order's payload is kept at most (reconciliation removes it long before). */
export const ACKED_ORDER_TTL_SECONDS = 7 * 24 * 3600;

/** The order an `OrderPlaced` is, as the API answers it before the pipeline has decided it. */
export const pendingOrder = (event: OrderPlaced): Order => ({
  orderId: event.orderId,
  status: "pending",
  email: event.email,
  items: totalLines(event.items).lines.map(({ priceListId: _list, ...line }) => ({
    ...line,
    variantId: lineVariantId(line),
    options: line.options ?? {},
  })),
  subtotalCents: event.subtotalCents,
  currency: event.currency,
  createdAt: event.placedAt,
  updatedAt: event.placedAt,
});
