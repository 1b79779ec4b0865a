import { type OrderPlaced, OrderPlacedSchema } from "../../../domain/events.ts";
import {
  type OrderFinalized,
  OrderFinalizedSchema,
  type OrderShipped,
  OrderShippedSchema,
} from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import type { OrderStatusCache } from "../order-state/order-status-cache.ts";
import {
  type ConsumerDefinition,
  type HandlerContext,
  type LockedEvent,
  subscribe,
} from "../runtime/types.ts";
import { joinEffects, reportStep } from "../saga/join.ts";
import { type EdgeStock, edgeStockEffect } from "./edge-stock.ts";
import {
  commitStock,
  lockInventoryOf,
  releaseStock,
  reserveStock,
  type StockLevel,
  shipStock,
} from "./stock-store.ts";

/**
 * Inventory step of the order saga (overview: ../order-state/SAGA.md): holds stock for a placed order
 * (all or nothing) and reports the outcome to the saga's join in the same transaction; when the order is final, commits the holds (confirmed) or runs
 * the compensation that releases them (cancelled, also after confirmation: a merchant's
 * cancellation); when the warehouse shipped the order (`order-shipped`), counts its units as shipped.
 */

const reportHold = (ctx: HandlerContext, orderId: string, outcome: "reserved" | "rejected"): void =>
  reportStep(ctx, { orderId, step: "inventory", outcome });

/**
 * The inventory consumer; with `edgeStock`, each transaction also records keeping the edge stock
 * counter in step (the order's edge holds end, the changed levels are recorded): a durable effect,
 * applied after the commit.
 */
export const createInventoryConsumer = (
  deps: { edgeStock?: EdgeStock; statusCache?: OrderStatusCache } = {},
): ConsumerDefinition => {
  const effect = deps.edgeStock ? edgeStockEffect(deps.edgeStock) : undefined;
  const syncEdge = (ctx: HandlerContext, orderId: string, levels: readonly StockLevel[]): void => {
    if (effect) ctx.effect(effect, orderId, { levels: [...levels] });
  };

  const handleOrderPlaced = async (event: OrderPlaced, ctx: HandlerContext): Promise<void> => {
    const outcome = await reserveStock(ctx.tx, event.orderId, event.items);
    if (outcome.type === "reserved" && outcome.alreadyHeld) {
      // Its outcome was reported in the transaction that wrote the holds.
      ctx.log.info({ orderId: event.orderId }, "stock already held for this order, nothing to do");
      return;
    }
    if (outcome.type === "rejected") {
      ctx.log.info({ orderId: event.orderId, short: outcome.shortProductIds }, "stock rejected");
      reportHold(ctx, event.orderId, "rejected");
      syncEdge(ctx, event.orderId, []);
      return;
    }
    ctx.log.debug({ orderId: event.orderId }, "stock reserved");
    reportHold(ctx, event.orderId, "reserved");
    syncEdge(ctx, event.orderId, outcome.levels);
  };

  const handleOrderFinalized = async (event: OrderFinalized, ctx: HandlerContext): Promise<void> => {
    const levels =
      event.status === "confirmed"
        ? await commitStock(ctx.tx, event.orderId)
        : await releaseStock(ctx.tx, event.orderId, {
            committedToo: event.reason === "cancelled_by_merchant",
          });
    ctx.log.debug(
      { orderId: event.orderId, status: event.status, holds: levels.length },
      "stock holds settled",
    );
    syncEdge(ctx, event.orderId, levels);
  };

  const handleOrderShipped = async (event: OrderShipped, ctx: HandlerContext): Promise<void> => {
    const levels = await shipStock(ctx.tx, event.orderId);
    ctx.log.debug({ orderId: event.orderId, lines: levels.length }, "stock shipped");
    syncEdge(ctx, event.orderId, levels);
  };

  /** The inventory rows a transaction's events will lock: placed orders' products, and the held ones of the others. */
  const lockFirst = async (events: readonly LockedEvent[], tx: HandlerContext["tx"]): Promise<void> => {
    const productIds = new Set<string>();
    const orderIds: string[] = [];
    for (const { topic, event } of events) {
      if (topic === TOPICS.orderPlaced)
        for (const item of (event as OrderPlaced).items) productIds.add(item.productId);
      else orderIds.push((event as { orderId: string }).orderId);
    }
    await lockInventoryOf(tx, [...productIds], orderIds);
  };

  return {
    name: "inventory",
    subscriptions: [
      subscribe(TOPICS.orderPlaced, OrderPlacedSchema, handleOrderPlaced),
      subscribe(TOPICS.orderFinalized, OrderFinalizedSchema, handleOrderFinalized),
      subscribe(TOPICS.orderShipped, OrderShippedSchema, handleOrderShipped),
    ],
    effects: [...(effect ? [effect] : []), ...joinEffects(deps.statusCache)],
    lockFirst,
  };
};

/** The inventory consumer without the edge counter (Postgres only). */
export const inventoryConsumer: ConsumerDefinition = createInventoryConsumer();
