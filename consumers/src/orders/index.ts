import { randomUUID } from "node:crypto";
import { OrderPlacedSchema } from "../../../domain/events.ts";
import { OrderRecordedSchema } from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type ConsumerDefinition, subscribe } from "../runtime/types.ts";
import { recordOrder } from "./store.ts";

/**
 * Orders step of the order saga (overview: ../order-state/SAGA.md).
 * `order-placed` → the order and its lines in Postgres (pending) → `order-recorded`, which starts
 * the rest of the pipeline (inventory, payment). A repeated order id records and emits nothing.
 */
export const ordersConsumer: ConsumerDefinition = {
  name: "orders",
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
};
