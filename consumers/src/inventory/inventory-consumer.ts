import { randomUUID } from "node:crypto";
import { type OrderPlaced, OrderPlacedSchema } from "../../../domain/events.ts";
import {
  type InventoryResult,
  InventoryResultSchema,
  type OrderFinalized,
  OrderFinalizedSchema,
} from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type ConsumerDefinition, type HandlerContext, subscribe } from "../runtime/types.ts";
import { commitStock, releaseStock, reserveStock } from "./stock-store.ts";

/**
 * Inventory step of the order saga (overview: ../order-state/SAGA.md): holds stock for a placed order (all or nothing) and announces
 * the outcome on `inventory-results`; when the order is final, commits the holds (confirmed) or runs
 * the compensation that releases them (cancelled).
 */

const emitResult = (ctx: HandlerContext, result: InventoryResult): Promise<void> =>
  ctx.emit(TOPICS.inventoryResults, result.orderId, InventoryResultSchema.parse(result));

const handleOrderPlaced = async (event: OrderPlaced, ctx: HandlerContext): Promise<void> => {
  const outcome = await reserveStock(ctx.tx, event.orderId, event.items);
  if (outcome.type === "reserved" && outcome.alreadyHeld) {
    // Its result was emitted in the transaction that wrote the holds.
    ctx.log.info({ orderId: event.orderId }, "stock already held for this order, nothing to do");
    return;
  }
  const base = { eventId: randomUUID(), orderId: event.orderId };
  if (outcome.type === "rejected") {
    ctx.log.info({ orderId: event.orderId, short: outcome.shortProductIds }, "stock rejected");
    await emitResult(ctx, { ...base, type: "rejected", reason: "out_of_stock" });
    return;
  }
  ctx.log.info({ orderId: event.orderId }, "stock reserved");
  await emitResult(ctx, { ...base, type: "reserved" });
};

const handleOrderFinalized = async (event: OrderFinalized, ctx: HandlerContext): Promise<void> => {
  const settle = event.status === "confirmed" ? commitStock : releaseStock;
  const moved = await settle(ctx.tx, event.orderId);
  ctx.log.info({ orderId: event.orderId, status: event.status, holds: moved }, "stock holds settled");
};

export const inventoryConsumer: ConsumerDefinition = {
  name: "inventory",
  subscriptions: [
    subscribe(TOPICS.orderPlaced, OrderPlacedSchema, handleOrderPlaced),
    subscribe(TOPICS.orderFinalized, OrderFinalizedSchema, handleOrderFinalized),
  ],
};
