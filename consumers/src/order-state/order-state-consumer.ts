import type { ConsumerDefinition } from "../runtime/types.ts";
import { reportStep } from "../saga/join.ts";
import { sweepOverdueOrders } from "./order-deadline.ts";
import type { OrderStatusCache } from "./order-status-cache.ts";
import { orderStatusEffect } from "./status-effect.ts";

/**
 * The order saga's home process (declared in ../saga/order-saga.ts; overview: SAGA.md). The steps
 * report to the join in their own transactions, so it reads no topic. It runs the saga deadline: a
 * periodic sweep (order-deadline.ts) that decides the orders whose payment step has not settled
 * PAYMENT_STEP_LIMIT_MS after it started, through the same join as a step's report. And it applies
 * the rewrites of orders' status records in Redis that any step records (status-effect.ts): durable
 * effects, applied after their commits, so a Redis outage delays the record without holding up the
 * saga.
 */
export interface OrderStateOptions {
  statusCache: OrderStatusCache;
  /** The payment step's limit (PAYMENT_STEP_LIMIT_MS), counted from when that step started on the order. */
  paymentLimitMs?: number;
  /** The shopper's limit for a 3-D Secure step (PAYMENT_ACTION_LIMIT_MS), from when it was asked for. */
  actionLimitMs?: number;
  /** How often the deadline sweep runs (ORDER_SWEEP_INTERVAL_MS). */
  sweepIntervalMs?: number;
  /** The clock of the deadline (tests move it forward). */
  now?: () => Date;
}

export const DEADLINE_TASK = "order-deadline";

export const createOrderStateConsumer = (deps: OrderStateOptions): ConsumerDefinition => {
  const now = deps.now ?? (() => new Date());
  return {
    name: "order-state",
    // The steps report to the join in their own transactions (../saga/join.ts): nothing to read.
    subscriptions: [],
    tasks: [
      {
        name: DEADLINE_TASK,
        intervalMs: deps.sweepIntervalMs ?? 5_000,
        run: async (ctx) => {
          await sweepOverdueOrders(ctx, {
            limitMs: deps.paymentLimitMs ?? 120_000,
            actionLimitMs: deps.actionLimitMs ?? 900_000,
            now,
            expire: async (orderId, tx) => reportStep(tx, { orderId, step: "deadline" }, now()),
          });
        },
      },
    ],
    effects: [orderStatusEffect(deps.statusCache)],
  };
};
