import { and, asc, eq, lt } from "drizzle-orm";
import { orders } from "../../../db/schema/index.ts";
import type { TaskContext, TxContext } from "../runtime/types.ts";

export interface DeadlineSweep {
  /** How long an order may stay pending. */
  limitMs: number;
  /** The clock (tests move it forward instead of waiting). */
  now: () => Date;
  /** Orders looked at per pass. */
  batchSize?: number;
  /** Decides one overdue order, in the transaction that locked it (the saga's `deadline` step). */
  expire(orderId: string, ctx: TxContext): Promise<void>;
}

/**
 * One pass of the saga deadline (see SAGA.md): every order still pending `limitMs` after it was
 * recorded is decided now, each in its own transaction that locks its row first
 * (`FOR UPDATE SKIP LOCKED`: an order another sweeper or an event holds right now is left for the
 * next pass). Answers how many orders it handed to `expire`.
 */
export const sweepOverdueOrders = async (ctx: TaskContext, o: DeadlineSweep): Promise<number> => {
  const cutoff = new Date(o.now().getTime() - o.limitMs);
  const overdue = and(eq(orders.status, "pending"), lt(orders.createdAt, cutoff));
  const candidates = await ctx.db
    .select({ orderId: orders.orderId })
    .from(orders)
    .where(overdue)
    .orderBy(asc(orders.createdAt))
    .limit(o.batchSize ?? 100);
  let expired = 0;
  for (const { orderId } of candidates) {
    const taken = await ctx.transaction(async (tx) => {
      const [row] = await tx.tx
        .select({ orderId: orders.orderId })
        .from(orders)
        .where(and(eq(orders.orderId, orderId), overdue))
        .for("update", { skipLocked: true });
      if (!row) return false;
      await o.expire(orderId, tx);
      return true;
    });
    if (taken) expired++;
  }
  if (expired > 0) ctx.log.info({ expired, limitMs: o.limitMs }, "orders past the saga deadline decided");
  return expired;
};
