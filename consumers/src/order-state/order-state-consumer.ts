import { randomUUID } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import { orderFromRows } from "../../../db/orders.ts";
import { orderLines, orders } from "../../../db/schema/index.ts";
import {
  type InventoryResult,
  InventoryResultSchema,
  type OrderFinalized,
  OrderFinalizedSchema,
  type OrderRecorded,
  OrderRecordedSchema,
  type PaymentResult,
  PaymentResultSchema,
} from "../../../domain/order-events.ts";
import type { Order } from "../../../domain/orders.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type ConsumerDefinition, type HandlerContext, subscribe, type Tx } from "../runtime/types.ts";
import { advanceOrder, type OrderStep } from "./order-progress.ts";
import { createLazyRedisOrderStatusCache, type OrderStatusCache } from "./order-status-cache.ts";

/**
 * Order-state step of the saga: joins `order-recorded`, `inventory-results` and `payment-results`
 * per order, finalizes the order once (orders row and `order-finalized` in the same transaction),
 * then rewrites the order's status record in Redis (creating it from Postgres when checkout's pending
 * record is not there yet, see order-status-cache.ts).
 *
 * The runtime offers no after-commit hook, so the Redis write happens inside the handler, as its
 * last step, on every event of a final order: it is idempotent, so repeating it (a retry, a later
 * duplicate) is harmless, and it repairs a record a previous attempt could not write. If it fails
 * the handler fails and the runner retries the whole event. If the commit fails after the write,
 * Redis shows the outcome before Postgres does; the retry commits the same outcome, since the
 * outcome is decided from the first result of each step.
 */
/** The order as this transaction sees it (final already when this event finalized it). */
const loadOrder = async (tx: Tx, orderId: string): Promise<Order | null> => {
  const [row] = await tx.select().from(orders).where(eq(orders.orderId, orderId));
  if (!row) return null;
  const lines = await tx
    .select()
    .from(orderLines)
    .where(eq(orderLines.orderId, orderId))
    .orderBy(asc(orderLines.productId));
  return orderFromRows(row, lines);
};

export const createOrderStateConsumer = (deps: { statusCache: OrderStatusCache }): ConsumerDefinition => {
  const advance = async (step: OrderStep, ctx: HandlerContext): Promise<void> => {
    const result = await advanceOrder(ctx.tx, step);
    const log = ctx.log.child({ orderId: step.orderId, step: step.step });
    if (result.kind === "waiting") {
      log.debug("order waits for more steps");
      return;
    }
    const finalizedAt = result.finalizedAt.toISOString();
    const announce = result.kind === "finalized" || result.contradicts;
    if (result.kind === "finalized" && !result.orderRowUpdated) {
      log.warn("order row missing or no longer pending while finalizing");
    }
    if (result.kind === "already_final" && result.contradicts) {
      log.warn({ outcome: result.outcome }, "late step contradicts the final outcome; announcing it again");
    }
    if (announce) {
      const base = { eventId: randomUUID(), orderId: step.orderId, finalizedAt };
      const finalized: OrderFinalized =
        result.outcome.status === "confirmed"
          ? { ...base, status: "confirmed" }
          : { ...base, status: "cancelled", reason: result.outcome.reason };
      await ctx.emit(TOPICS.orderFinalized, step.orderId, OrderFinalizedSchema.parse(finalized));
      log.info({ outcome: result.outcome }, "order finalized");
    }
    const written = await deps.statusCache.writeStatus(
      step.orderId,
      {
        status: result.outcome.status,
        reason: result.outcome.status === "cancelled" ? result.outcome.reason : undefined,
        updatedAt: finalizedAt,
      },
      () => loadOrder(ctx.tx, step.orderId),
    );
    if (written === "dropped") log.warn("order status record in Redis was not an Order; deleted it");
    else log.debug({ written }, "order status record written");
  };

  return {
    name: "order-state",
    subscriptions: [
      subscribe(TOPICS.orderRecorded, OrderRecordedSchema, (event: OrderRecorded, ctx) =>
        advance({ orderId: event.orderId, step: "recorded", recordedAt: new Date(event.recordedAt) }, ctx),
      ),
      subscribe(TOPICS.inventoryResults, InventoryResultSchema, (event: InventoryResult, ctx) =>
        advance({ orderId: event.orderId, step: "inventory", outcome: event.type }, ctx),
      ),
      subscribe(TOPICS.paymentResults, PaymentResultSchema, (event: PaymentResult, ctx) =>
        advance({ orderId: event.orderId, step: "payment", outcome: event.type }, ctx),
      ),
    ],
  };
};

/** The order-state consumer writing status records to the Redis at `REDIS_URL` (connected on first use). */
export const orderStateConsumer: ConsumerDefinition = createOrderStateConsumer({
  statusCache: createLazyRedisOrderStatusCache(),
});
