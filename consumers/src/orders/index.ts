import { type OrderPlaced, OrderPlacedSchema } from "../../../domain/events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import type { OrderStatusCache } from "../order-state/order-status-cache.ts";
import { type Batched, type ConsumerDefinition, subscribe } from "../runtime/types.ts";
import { joinEffects, reportStep } from "../saga/join.ts";
import { ORDERS_CONSUMER } from "./name.ts";
import { type ReconcileOptions, reconcileTask } from "./reconcile.ts";
import { recordOrders } from "./store.ts";

export {
  type AckedOrders,
  createRedisAckedOrders,
  RECONCILE_TASK,
  type ReconcileOptions,
  reconcileOnce,
} from "./reconcile.ts";

/**
 * Orders step of the order saga (overview: ../order-state/SAGA.md).
 * `order-placed` → the order and its lines in Postgres (pending), reported to the saga's join as the
 * `recorded` step in the same transaction (inventory and payment read `order-placed` themselves). A
 * repeated order id records and reports nothing.
 * With `reconcile`, it also looks for orders Kafka acknowledged that never reached Postgres
 * (reconcile.ts).
 */
export const createOrdersConsumer = (
  deps: { reconcile?: ReconcileOptions; statusCache?: OrderStatusCache } = {},
): ConsumerDefinition => {
  /** The orders of a transaction's `order-placed` events, recorded together (one statement). */
  const record: Batched<OrderPlaced> = {
    name: "orders-record",
    async run(events, ctx) {
      const recorded = await recordOrders(ctx.tx, events);
      for (const { orderId } of events) {
        if (recorded.has(orderId)) reportStep(ctx, { orderId, step: "recorded", outcome: "recorded" });
        else ctx.log.info({ orderId }, "order already recorded; nothing to do");
      }
    },
  };
  return {
    name: ORDERS_CONSUMER,
    effects: joinEffects(deps.statusCache),
    tasks: deps.reconcile ? [reconcileTask(deps.reconcile)] : [],
    subscriptions: [
      subscribe(TOPICS.orderPlaced, OrderPlacedSchema, async (event, ctx) => ctx.defer(record, event)),
    ],
  };
};

/** The orders consumer without reconciliation (Postgres only). */
export const ordersConsumer: ConsumerDefinition = createOrdersConsumer();
