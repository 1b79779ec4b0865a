import { and, asc, eq, isNull, lt } from "drizzle-orm";
import { orderProgress, payments } from "../../../db/schema/index.ts";
import type { TaskContext, TxContext } from "../runtime/types.ts";

export interface DeadlineSweep {
  /** How long the payment step may take, from when it started on the order. */
  limitMs: number;
  /** The clock (tests move it forward instead of waiting). */
  now: () => Date;
  /** Orders looked at per pass. */
  batchSize?: number;
  /** Decides one overdue order, in its own transaction (the saga's `deadline` step). */
  expire(orderId: string, ctx: TxContext): Promise<void>;
}

/**
 * One pass of the saga deadline (see SAGA.md): every order whose payment step asked for an
 * authorization `limitMs` ago or longer and has no answer yet, and that is not decided, is decided
 * now, each in its own transaction (`expire` locks the order's rows, so an event of the order being
 * applied right now goes first). The limit counts from when the payment step started on the order
 * (`payments.requested_at`), never from when the order was placed: an order waiting in a queue
 * (consumer lag) is never cancelled for it. Answers how many orders it handed to `expire`.
 */
export const sweepOverdueOrders = async (ctx: TaskContext, o: DeadlineSweep): Promise<number> => {
  const cutoff = new Date(o.now().getTime() - o.limitMs);
  const overdue = await ctx.db
    .select({ orderId: payments.orderId })
    .from(payments)
    .leftJoin(orderProgress, eq(orderProgress.orderId, payments.orderId))
    .where(
      and(
        eq(payments.status, "requested"),
        lt(payments.requestedAt, cutoff),
        isNull(orderProgress.finalizedAt),
      ),
    )
    .orderBy(asc(payments.requestedAt))
    .limit(o.batchSize ?? 100);
  for (const { orderId } of overdue) await ctx.transaction((tx) => o.expire(orderId, tx));
  if (overdue.length > 0) {
    ctx.log.info(
      { expired: overdue.length, limitMs: o.limitMs },
      "orders past the payment step's limit decided",
    );
  }
  return overdue.length;
};
