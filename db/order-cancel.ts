import { type SQL, sql } from "drizzle-orm";
import type { OrderFinalized } from "../domain/order-events.ts";
import { ORDER_STATUS_EFFECT } from "../domain/orders.ts";
import { TOPICS } from "../domain/topics.ts";
import { effects, orderProgress, orders, outbox } from "./schema/index.ts";

/** Statuses a merchant may cancel from: anything the warehouse has not shipped. */
export const MERCHANT_CANCELLABLE = ["pending", "confirmed", "fulfilling"] as const;

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
    where ${orders.orderId} = ${orderId}
      and ${orders.status} in (${sql.join(
        MERCHANT_CANCELLABLE.map((s) => sql`${s}`),
        sql`, `,
      )})
    returning ${orders.orderId}
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
