import { type SQL, sql } from "drizzle-orm";
import { lineVariantId, type OrderPlaced } from "../domain/events.ts";
import type { CancelReason, OrderFinalized, OrderStatus, Shipment } from "../domain/order-events.ts";
import { ORDER_STATUS_EFFECT } from "../domain/orders.ts";
import { totalLines } from "../domain/pricing.ts";
import { TOPICS } from "../domain/topics.ts";
import { effects, orderLines, orderProgress, orders, outbox } from "./schema/index.ts";

/**
 * The one module that writes `orders`: every change of an order's row is one of the statements
 * below, each a conditional update from the statuses it may leave (`ORDER_TRANSITIONS`), so two
 * writers racing on one order (a shipment and a merchant's cancellation, the saga's decision and a
 * cancellation) are decided by whichever commits first, and the other changes nothing. Each builds
 * one SQL statement the caller runs in its own transaction (`tx.execute`), over TCP in the consumers
 * or HTTP at the edge, and answers a row (`order_id`) when it changed the order, none otherwise.
 */

/** Statuses a merchant may cancel from: anything the warehouse has not shipped. */
export const MERCHANT_CANCELLABLE = ["pending", "confirmed", "fulfilling"] as const;

/** Each writer's move of `orders.status`: from where (none: the row is new) to where. */
export const ORDER_TRANSITIONS = {
  /** The orders consumer records a placed order (the saga's `recorded` step). */
  record: { from: [], to: ["pending"] },
  /** The saga's join decides it (consumers/src/order-state). */
  decide: { from: ["pending"], to: ["confirmed", "cancelled"] },
  /** Fulfillment requested it at the warehouse. */
  fulfil: { from: ["confirmed"], to: ["fulfilling"] },
  /** The warehouse shipped it. */
  ship: { from: ["fulfilling"], to: ["shipped"] },
  /** A merchant cancelled it (admin API). */
  cancelByMerchant: { from: MERCHANT_CANCELLABLE, to: ["cancelled"] },
} as const satisfies Record<string, { from: readonly OrderStatus[]; to: readonly OrderStatus[] }>;

/** `status in (…)`, of `column` (the table's own `status` unless the statement aliases it). */
const statusIn = (statuses: readonly OrderStatus[], column: SQL = sql`status`): SQL =>
  sql`${column} in (${sql.join(
    statuses.map((s) => sql`${s}`),
    sql`, `,
  )})`;

/**
 * Placed orders (pending) and their lines, in ONE statement for any number of orders (one text: the
 * orders travel as one JSON parameter). The lines are inserted from the order rows the statement
 * inserted, so they are written only with a new order. Idempotent on the order id: an order recorded
 * before is skipped, and answers no row; each order recorded now answers its `order_id`. An order
 * named twice is recorded once, as its first event has it.
 */
export const recordPlacedOrders = (events: readonly OrderPlaced[]): SQL => {
  const seen = new Set<string>();
  const input = events
    .filter((event) => !seen.has(event.orderId) && seen.add(event.orderId))
    .map((event) => ({
      order_id: event.orderId,
      cart_id: event.cartId,
      email: event.email,
      subtotal_cents: event.subtotalCents,
      currency: event.currency,
      shipping_address: event.shippingAddress,
      placed_at: event.placedAt,
      customer_id: event.customerId ?? null,
      lines: totalLines(event.items).lines.map((item) => ({
        product_id: item.productId,
        variant_id: lineVariantId(item),
        options: item.options ?? {},
        sku: item.sku,
        name: item.name,
        qty: item.qty,
        unit_price_cents: item.unitPriceCents,
        line_total_cents: item.lineTotalCents,
        compare_at_price_cents: item.compareAtPriceCents ?? null,
        price_list_id: item.priceListId ?? null,
      })),
    }));
  return sql`
    with input as (
      select * from jsonb_to_recordset(${JSON.stringify(input)}::jsonb) as x(order_id varchar, cart_id varchar,
        email text, subtotal_cents bigint, currency varchar, shipping_address jsonb, placed_at timestamptz,
        customer_id varchar, lines jsonb)
    ), inserted as (
      insert into ${orders} (order_id, cart_id, email, status, subtotal_cents, currency, shipping_address,
        placed_at, customer_id)
      select order_id, cart_id, email, 'pending', subtotal_cents, currency, shipping_address, placed_at, customer_id
      from input
      order by order_id
      on conflict (order_id) do nothing
      returning order_id
    ), lines as (
      insert into ${orderLines} (order_id, product_id, variant_id, options, sku, name, qty, unit_price_cents,
        line_total_cents, compare_at_price_cents, price_list_id)
      select i.order_id, l.product_id, l.variant_id, l.options, l.sku, l.name, l.qty, l.unit_price_cents,
        l.line_total_cents, l.compare_at_price_cents, l.price_list_id
      from inserted as i
      join input on input.order_id = i.order_id
      cross join jsonb_to_recordset(input.lines) as l(product_id varchar, variant_id varchar, options jsonb,
        sku varchar, name text, qty integer, unit_price_cents bigint, line_total_cents bigint,
        compare_at_price_cents bigint, price_list_id varchar)
    )
    select order_id from inserted`;
};

/** One placed order and its lines (see `recordPlacedOrders`): a row answered when it is new. */
export const recordPlacedOrder = (event: OrderPlaced): SQL => recordPlacedOrders([event]);

/**
 * The saga's decisions: pending → confirmed, or cancelled with its reason, at `at`, for any number of
 * orders in one statement (one text for any batch). The caller holds the rows' locks already (the
 * join locks every order row it reports on first, in order-id order).
 */
export const decideOrders = (
  decisions: readonly {
    orderId: string;
    outcome: { status: "confirmed" } | { status: "cancelled"; reason: CancelReason };
  }[],
  at: Date,
): SQL => sql`
  update ${orders} as o set status = d.status, reason = d.reason, updated_at = ${at.toISOString()}::timestamptz
  from unnest(${sql.param(decisions.map((d) => d.orderId))}::varchar[],
    ${sql.param(decisions.map((d) => d.outcome.status))}::varchar[],
    ${sql.param(decisions.map((d) => (d.outcome.status === "cancelled" ? d.outcome.reason : null)))}::varchar[])
    as d(order_id, status, reason)
  where o.order_id = d.order_id and ${statusIn(ORDER_TRANSITIONS.decide.from, sql`o.status`)}
  returning o.order_id`;

/**
 * confirmed → fulfilling, for any number of orders at once: requested at the warehouse. The rows are
 * locked first in order-id order (two batches over the same orders queue instead of deadlocking).
 * Answers `order_id` and the new `updated_at` of each order it moved. One text for any batch.
 */
export const markFulfilling = (orderIds: readonly string[]): SQL => sql`
  with locked as (
    select order_id from ${orders}
    where order_id = any(${sql.param([...orderIds])}::varchar[]) and ${statusIn(ORDER_TRANSITIONS.fulfil.from)}
    order by order_id
    for update
  )
  update ${orders} as o set status = 'fulfilling', updated_at = now()
  from locked where o.order_id = locked.order_id
  returning o.order_id, o.updated_at`;

/**
 * fulfilling → shipped with each order's shipment, for any number of orders at once, locked in
 * order-id order like `markFulfilling`. Answers `order_id`, `updated_at`, `carrier`,
 * `tracking_number` and `shipped_at` of each order it moved.
 */
export const markShipped = (shipped: readonly { orderId: string; shipment: Shipment }[]): SQL => sql`
  with s(order_id, carrier, tracking_number, shipped_at) as (
    select * from unnest(${sql.param(shipped.map((s) => s.orderId))}::varchar[],
      ${sql.param(shipped.map((s) => s.shipment.carrier))}::text[],
      ${sql.param(shipped.map((s) => s.shipment.trackingNumber))}::text[],
      ${sql.param(shipped.map((s) => s.shipment.shippedAt))}::timestamptz[])
  ), locked as (
    select order_id from ${orders}
    where order_id in (select order_id from s) and ${statusIn(ORDER_TRANSITIONS.ship.from)}
    order by order_id
    for update
  )
  update ${orders} as o set status = 'shipped', carrier = s.carrier, tracking_number = s.tracking_number,
    shipped_at = s.shipped_at, updated_at = now()
  from locked join s on s.order_id = locked.order_id
  where o.order_id = locked.order_id
  returning o.order_id, o.updated_at, o.carrier, o.tracking_number, o.shipped_at`;

/**
 * A merchant's cancellation as one statement (atomic on its own, over HTTP or TCP): the order row
 * moves to `cancelled` (`cancelled_by_merchant`) only from a status not shipped, under the row's
 * lock, so of this and the warehouse's shipment (a conditional update from `fulfilling`) whichever
 * commits first wins; the saga's progress row is marked final, so a pending order is never confirmed
 * afterwards (order-state answers its late steps with the cancellation again); and `event` goes into
 * the transactional outbox. Every other writer of `order-finalized` (order-state) locks the same
 * order row first, so the row lock keeps that topic's outbox ids for the order in commit order (what
 * the consumers' per-key emit lock does for them). It also records the rewrite of the order's status
 * record in Redis from Postgres, a durable effect the consumers' relay applies. Answers one row
 * (`order_id`) when it cancelled the order, none otherwise. `topicPrefix`: the run's Kafka topic
 * prefix (none in production), which the outbox row's topic and the effect's scope carry like every
 * consumer's.
 */
export const cancelByMerchant = (
  orderId: string,
  event: Extract<OrderFinalized, { status: "cancelled" }>,
  topicPrefix = "",
): SQL => sql`
  with cancelled as (
    update ${orders} set status = 'cancelled', reason = 'cancelled_by_merchant', updated_at = now()
    where order_id = ${orderId} and ${statusIn(ORDER_TRANSITIONS.cancelByMerchant.from)}
    returning order_id
  ), progress as (
    insert into ${orderProgress} (order_id, finalized_at)
    select order_id, now() from cancelled
    on conflict (order_id) do update
      set finalized_at = coalesce(${orderProgress.finalizedAt}, excluded.finalized_at), updated_at = now()
  ), announced as (
    insert into ${outbox} (topic, key, payload)
    select ${`${topicPrefix}${TOPICS.orderFinalized}`}, order_id, ${JSON.stringify(event)}::jsonb from cancelled
  ), recorded as (
    insert into ${effects} (scope, kind, key, payload)
    select ${topicPrefix}, ${ORDER_STATUS_EFFECT}, order_id, '{}'::jsonb from cancelled
  )
  select order_id from cancelled`;
