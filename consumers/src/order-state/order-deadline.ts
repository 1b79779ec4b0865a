import { and, asc, eq, isNull, lt, sql } from "drizzle-orm";
import { deadLetters, orderProgress, orders, payments } from "../../../db/schema/index.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { ORDERS_CONSUMER } from "../orders/name.ts";
import type { TaskContext, TxContext } from "../runtime/types.ts";

export interface DeadlineSweep {
  /** How long the payment step may take, from when it started on the order. */
  limitMs: number;
  /** How long the shopper may take over a 3-D Secure step, from when the issuer asked for it. */
  actionLimitMs: number;
  /** The clock (tests move it forward instead of waiting). */
  now: () => Date;
  /** Orders looked at per pass. */
  batchSize?: number;
  /** Decides one overdue order, in its own transaction (the saga's `deadline` step). */
  expire(orderId: string, ctx: TxContext): Promise<void>;
}

/**
 * One pass of the saga deadline (see SAGA.md), over two kinds of order not decided yet, each decided
 * in its own transaction (`expire` locks the order's rows, so an event of the order being applied
 * right now goes first):
 * - an order whose payment step asked for an authorization `limitMs` ago or longer and has no answer
 *   yet. The limit counts from when the payment step started on the order (`payments.requested_at`),
 *   never from when the order was placed: an order waiting in a queue (consumer lag) is never
 *   cancelled for it;
 * - an order whose shopper was asked for a 3-D Secure step `actionLimitMs` ago or longer
 *   (`payments.action_requested_at`) and has not finished it;
 * - an order whose `order-placed` the orders consumer sent to the dead letters with no record of the
 *   order in Postgres: it can never be recorded, so whatever the other steps held or authorized is
 *   given back at once.
 * Answers how many orders it handed to `expire`.
 */
export const sweepOverdueOrders = async (ctx: TaskContext, o: DeadlineSweep): Promise<number> => {
  const cutoff = new Date(o.now().getTime() - o.limitMs);
  const limit = o.batchSize ?? 100;
  /** Orders not decided whose payment is `status` since before `cutoff` (by `since`), oldest first. */
  const waitingSince = (
    status: "requested" | "requires_action",
    since: typeof payments.requestedAt | typeof payments.actionRequestedAt,
    cutoff: Date,
  ) =>
    ctx.db
      .select({ orderId: payments.orderId })
      .from(payments)
      .leftJoin(orderProgress, eq(orderProgress.orderId, payments.orderId))
      .where(and(eq(payments.status, status), lt(since, cutoff), isNull(orderProgress.finalizedAt)))
      .orderBy(asc(since))
      .limit(limit);
  const unanswered = await waitingSince("requested", payments.requestedAt, cutoff);
  const unfinishedActions = await waitingSince(
    "requires_action",
    payments.actionRequestedAt,
    new Date(o.now().getTime() - o.actionLimitMs),
  );
  const overdue = [...unanswered, ...unfinishedActions];
  const unrecordable = await ctx.db
    .selectDistinct({ orderId: deadLetters.key })
    .from(deadLetters)
    .leftJoin(orderProgress, eq(orderProgress.orderId, deadLetters.key))
    .where(
      and(
        eq(deadLetters.consumer, ORDERS_CONSUMER),
        eq(deadLetters.topic, ctx.topicName(TOPICS.orderPlaced)),
        isNull(orderProgress.finalizedAt),
        sql`not exists (select 1 from ${orders} where ${orders.orderId} = ${deadLetters.key})`,
      ),
    )
    .limit(limit);
  for (const { orderId } of [...overdue, ...unrecordable]) {
    await ctx.transaction((tx) => o.expire(orderId, tx));
  }
  if (overdue.length > 0) {
    ctx.log.info(
      { expired: overdue.length, limitMs: o.limitMs },
      "orders past the payment step's limit decided",
    );
  }
  if (unrecordable.length > 0) {
    ctx.log.error(
      { orderIds: unrecordable.map((row) => row.orderId) },
      "orders the orders consumer could not record cancelled; their holds and authorizations are given back",
    );
  }
  return overdue.length + unrecordable.length;
};
