import { randomUUID } from "node:crypto";
import { OrderPlacedSchema } from "../../../domain/events.ts";
import { OrderRecordedSchema } from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type ConsumerDefinition, subscribe } from "../runtime/types.ts";
import { ORDERS_CONSUMER } from "./name.ts";
import { type ReconcileOptions, reconcileTask } from "./reconcile.ts";
import { recordOrder } from "./store.ts";

export {
  type AckedOrders,
  createRedisAckedOrders,
  RECONCILE_TASK,
  type ReconcileOptions,
  reconcileOnce,
} from "./reconcile.ts";

/**
 * Orders step of the order saga (overview: ../order-state/SAGA.md).
 * `order-placed` → the order and its lines in Postgres (pending) → `order-recorded`, order-state's
 * sign that the order is in Postgres (inventory and payment read `order-placed` themselves). A
 * repeated order id records and emits nothing.
 * With `reconcile`, it also looks for orders Kafka acknowledged that never reached Postgres
 * (reconcile.ts).
 */
export const createOrdersConsumer = (deps: { reconcile?: ReconcileOptions } = {}): ConsumerDefinition => ({
  name: ORDERS_CONSUMER,
  tasks: deps.reconcile ? [reconcileTask(deps.reconcile)] : [],
  subscriptions: [
    subscribe(TOPICS.orderPlaced, OrderPlacedSchema, async (event, ctx) => {
      const isNew = await recordOrder(ctx.tx, event);
      if (!isNew) {
        ctx.log.info({ orderId: event.orderId }, "order already recorded; nothing to do");
        return;
      }
      const recorded = OrderRecordedSchema.parse({
        eventId: randomUUID(),
        orderId: event.orderId,
        recordedAt: new Date().toISOString(),
      });
      await ctx.emit(TOPICS.orderRecorded, event.orderId, recorded);
    }),
  ],
});

/** The orders consumer without reconciliation (Postgres only). */
export const ordersConsumer: ConsumerDefinition = createOrdersConsumer();
