import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  varchar,
} from "drizzle-orm/pg-core";
import type { ShippingAddress } from "../../domain/events.ts";
import { CURRENCIES } from "../../domain/money.ts";
import { CANCEL_REASONS, ORDER_STATUSES } from "../../domain/order-events.ts";

export const orders = pgTable(
  "orders",
  {
    orderId: varchar("order_id", { length: 64 }).primaryKey(),
    cartId: varchar("cart_id", { length: 64 }).notNull(),
    email: text("email").notNull(),
    status: varchar("status", { length: 16, enum: ORDER_STATUSES }).notNull().default("pending"),
    reason: varchar("reason", { length: 32, enum: CANCEL_REASONS }),
    subtotalCents: bigint("subtotal_cents", { mode: "number" }).notNull(),
    currency: varchar("currency", { length: 3, enum: CURRENCIES }).notNull(),
    shippingAddress: jsonb("shipping_address").$type<ShippingAddress>().notNull(),
    /** The customer whose token placed the order; null for a guest order. */
    customerId: varchar("customer_id", { length: 64 }),
    /** The warehouse's shipment, set with status `shipped` (and only then). */
    carrier: varchar("carrier", { length: 64 }),
    trackingNumber: varchar("tracking_number", { length: 128 }),
    shippedAt: timestamp("shipped_at", { withTimezone: true, mode: "date" }),
    placedAt: timestamp("placed_at", { withTimezone: true, mode: "date" }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    index("orders_cart_id_idx").on(t.cartId),
    // A customer's order history, newest first, paged by (created_at, order_id).
    index("orders_customer_created_idx")
      .on(t.customerId, t.createdAt, t.orderId)
      .where(sql`${t.customerId} is not null`),
    // The operators' order list, newest first, optionally of one status, paged by (created_at, order_id).
    index("orders_status_created_idx").on(t.status, t.createdAt, t.orderId),
    index("orders_created_idx").on(t.createdAt, t.orderId),
    check(
      "orders_shipment_only_when_shipped",
      sql`(${t.status} = 'shipped') = (${t.shippedAt} is not null and ${t.carrier} is not null and ${t.trackingNumber} is not null)`,
    ),
    check("orders_reason_only_when_cancelled", sql`(${t.status} = 'cancelled') = (${t.reason} is not null)`),
  ],
);

export const orderLines = pgTable(
  "order_lines",
  {
    orderId: varchar("order_id", { length: 64 })
      .notNull()
      .references(() => orders.orderId, { onDelete: "cascade" }),
    productId: varchar("product_id", { length: 64 }).notNull(),
    /** The variant sold (for a one-variant product, the product's id). */
    variantId: varchar("variant_id", { length: 64 }).notNull(),
    /** The variant's option values (`{}` for a one-variant product). */
    options: jsonb("options").$type<Record<string, string>>().notNull().default({}),
    sku: varchar("sku", { length: 64 }).notNull(),
    name: text("name").notNull(),
    qty: integer("qty").notNull(),
    unitPriceCents: bigint("unit_price_cents", { mode: "number" }).notNull(),
    lineTotalCents: bigint("line_total_cents", { mode: "number" }).notNull(),
    /** The regular unit price, when a price list lowered it. */
    compareAtPriceCents: bigint("compare_at_price_cents", { mode: "number" }),
    /** The price list that set `unit_price_cents`, if one did. */
    priceListId: varchar("price_list_id", { length: 64 }),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.variantId] }),
    check("order_lines_qty_positive", sql`${t.qty} > 0`),
  ],
);

export type OrderRow = typeof orders.$inferSelect;
export type OrderLineRow = typeof orderLines.$inferSelect;
