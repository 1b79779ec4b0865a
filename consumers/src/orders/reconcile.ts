import { inArray } from "drizzle-orm";
import type { Redis } from "ioredis";
import { orders } from "../../../db/schema/index.ts";
import { OrderPlacedSchema } from "../../../domain/events.ts";
import { ACKED_ORDERS_KEY, ackedOrderKey } from "../../../domain/orders.ts";
import { TOPICS } from "../../../domain/topics.ts";
import type { PeriodicTask, TaskContext } from "../runtime/types.ts";

/**
 * Acknowledged means durable: every order Kafka acknowledged to checkout is kept in Redis (a sorted
 * set by acknowledgement time, and its frozen `OrderPlaced`; see domain/orders.ts) until it is seen
 * in Postgres. This task of the orders consumer looks at the orders acknowledged longer ago than
 * `afterMs`: those recorded are forgotten; one that is not was lost on the way (a broker that lost
 * an acknowledged write, a topic deleted) or is stuck (a dead letter): it is published again through
 * the outbox (same event id, so every consumer that applied it skips it), at most `maxRepublish`
 * times, each one `afterMs` after the last, and reported all along (`orders_acknowledged_unrecorded`
 * counts every order acknowledged `afterMs` ago and not seen in Postgres).
 */
export interface AckedOrders {
  /** Order ids acknowledged before `before` (ms), oldest first. */
  overdue(before: number, limit: number): Promise<string[]>;
  /**
   * The payload, how often it was published again, and when it may be published again (ms; 0: now).
   * Undefined: the payload is gone.
   */
  read(orderId: string): Promise<{ payload: string; republished: number; nextAt: number } | undefined>;
  /** Counts one more publication; the next one may come at `nextAt` (ms). */
  republished(orderId: string, nextAt: number): Promise<void>;
  forget(orderIds: readonly string[]): Promise<void>;
  /** How many were acknowledged before `before` (ms) and are not known to be recorded. */
  countOverdue(before: number): Promise<number>;
}

export const createRedisAckedOrders = (redis: Redis): AckedOrders => ({
  overdue: (before, limit) => redis.zrangebyscore(ACKED_ORDERS_KEY, "-inf", before, "LIMIT", 0, limit),
  async read(orderId) {
    const [payload, republished, nextAt] = await redis.hmget(ackedOrderKey(orderId), "p", "n", "t");
    return payload
      ? { payload, republished: Number(republished ?? 0), nextAt: Number(nextAt ?? 0) }
      : undefined;
  },
  async republished(orderId, nextAt) {
    await redis
      .multi()
      .hincrby(ackedOrderKey(orderId), "n", 1)
      .hset(ackedOrderKey(orderId), "t", nextAt)
      .exec();
  },
  async forget(orderIds) {
    if (orderIds.length === 0) return;
    await redis
      .multi()
      .zrem(ACKED_ORDERS_KEY, ...orderIds)
      .del(...orderIds.map(ackedOrderKey))
      .exec();
  },
  countOverdue: (before) => redis.zcount(ACKED_ORDERS_KEY, "-inf", before),
});

export interface ReconcileOptions {
  acked: AckedOrders;
  /** How long after its acknowledgement an order not in Postgres counts as lost (ORDER_RECONCILE_AFTER_MS). */
  afterMs: number;
  intervalMs: number;
  maxRepublish?: number;
  batchSize?: number;
  now?: () => number;
}

export const RECONCILE_TASK = "acknowledged-orders";

export const reconcileTask = (o: ReconcileOptions): PeriodicTask => ({
  name: RECONCILE_TASK,
  intervalMs: o.intervalMs,
  run: async (ctx) => {
    await reconcileOnce(ctx, o);
  },
});

/** One pass; answers what it did. */
export const reconcileOnce = async (
  ctx: TaskContext,
  o: ReconcileOptions,
): Promise<{ recorded: number; republished: number; lost: number }> => {
  const now = (o.now ?? Date.now)();
  const overdue = await o.acked.overdue(now - o.afterMs, o.batchSize ?? 500);
  if (overdue.length === 0) return { recorded: 0, republished: 0, lost: 0 };
  const found = await ctx.db
    .select({ orderId: orders.orderId })
    .from(orders)
    .where(inArray(orders.orderId, overdue));
  const recorded = new Set(found.map((row) => row.orderId));
  await o.acked.forget([...recorded]);
  let republished = 0;
  let lost = 0;
  for (const orderId of overdue.filter((id) => !recorded.has(id))) {
    const log = ctx.log.child({ orderId });
    const acked = await o.acked.read(orderId);
    const event = acked ? OrderPlacedSchema.safeParse(JSON.parse(acked.payload)) : undefined;
    if (!acked || !event?.success) {
      lost++;
      log.error(
        "an acknowledged order is not in Postgres and its payload is gone: it cannot be repaired here",
      );
      continue;
    }
    if (now < acked.nextAt) continue;
    if (acked.republished >= (o.maxRepublish ?? 3)) {
      lost++;
      log.error(
        { republished: acked.republished },
        "an acknowledged order is still not in Postgres after being published again; look at the dead letters",
      );
      await o.acked.republished(orderId, Number.MAX_SAFE_INTEGER);
      continue;
    }
    await ctx.transaction((tx) => tx.emit(TOPICS.orderPlaced, orderId, event.data));
    await o.acked.republished(orderId, now + o.afterMs);
    republished++;
    log.error(
      { republished: acked.republished + 1 },
      "an acknowledged order never reached Postgres; published it again",
    );
  }
  return { recorded: recorded.size, republished, lost };
};
