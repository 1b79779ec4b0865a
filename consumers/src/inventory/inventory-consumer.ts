import { lineVariantId, type OrderPlaced, OrderPlacedSchema } from "../../../domain/events.ts";
import {
  type OrderFinalized,
  OrderFinalizedSchema,
  type OrderShipped,
  OrderShippedSchema,
} from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import type { OrderStatusCache } from "../order-state/order-status-cache.ts";
import {
  type Batched,
  type ConsumerDefinition,
  type HandlerContext,
  type LockedEvent,
  subscribe,
  type TxContext,
} from "../runtime/types.ts";
import { joinEffects, reportStep } from "../saga/join.ts";
import { type EdgeStock, edgeStockEffect } from "./edge-stock.ts";
import {
  changeHolds,
  type HoldChange,
  lockInventoryOf,
  reserveStocks,
  type StockLevel,
  type StockOrder,
} from "./stock-store.ts";

/**
 * Inventory step of the order saga (overview: ../order-state/SAGA.md): holds stock for a placed order
 * (all or nothing) and reports the outcome to the saga's join in the same transaction; when the order is final, commits the holds (confirmed) or runs
 * the compensation that releases them (cancelled, also after confirmation: a merchant's
 * cancellation); when the warehouse shipped the order (`order-shipped`), counts its units as shipped.
 */

/**
 * The inventory consumer; with `edgeStock`, each transaction also records keeping the edge stock
 * counter in step (the order's edge holds end, the changed levels are recorded): a durable effect,
 * applied after the commit.
 *
 * Each handler defers its order to work that runs once per transaction (`ctx.defer`): the holds of
 * every `order-placed` in it are taken in three statements, and the holds of every final or shipped
 * order moved in one, so a hot product's row is written once per batch however many orders take it.
 */
export const createInventoryConsumer = (
  deps: { edgeStock?: EdgeStock; statusCache?: OrderStatusCache } = {},
): ConsumerDefinition => {
  const effect = deps.edgeStock ? edgeStockEffect(deps.edgeStock) : undefined;
  const syncEdge = (ctx: TxContext, orderId: string, levels: readonly StockLevel[]): void => {
    if (effect) ctx.effect(effect, orderId, { levels: [...levels] });
  };

  const reserve: Batched<StockOrder> = {
    name: "inventory-reserve",
    async run(orders, ctx) {
      const outcomes = await reserveStocks(ctx.tx, orders);
      for (const [i, { orderId }] of orders.entries()) {
        const outcome = outcomes[i];
        if (!outcome) throw new Error(`no stock outcome for order ${orderId}`);
        if (outcome.type === "reserved" && outcome.alreadyHeld) {
          // Its outcome was reported in the transaction that wrote the holds.
          ctx.log.info({ orderId }, "stock already held for this order, nothing to do");
          continue;
        }
        if (outcome.type === "rejected") {
          ctx.log.info({ orderId, short: outcome.shortVariantIds }, "stock rejected");
          reportStep(ctx, { orderId, step: "inventory", outcome: "rejected" });
          syncEdge(ctx, orderId, []);
          continue;
        }
        ctx.log.debug({ orderId }, "stock reserved");
        reportStep(ctx, { orderId, step: "inventory", outcome: "reserved" });
        syncEdge(ctx, orderId, outcome.levels);
      }
    },
  };

  const settle: Batched<{ orderId: string; change: HoldChange }> = {
    name: "inventory-holds",
    async run(changes, ctx) {
      const levels = await changeHolds(ctx.tx, changes);
      for (const { orderId, change } of changes) {
        const changed = levels.get(orderId) ?? [];
        ctx.log.debug({ orderId, change, lines: changed.length }, "stock holds moved");
        syncEdge(ctx, orderId, changed);
      }
    },
  };

  const handleOrderPlaced = async (event: OrderPlaced, ctx: HandlerContext): Promise<void> => {
    const lines = event.items.map((item) => ({ variantId: lineVariantId(item), qty: item.qty }));
    ctx.defer(reserve, { orderId: event.orderId, lines });
  };

  const handleOrderFinalized = async (event: OrderFinalized, ctx: HandlerContext): Promise<void> => {
    const change: HoldChange =
      event.status === "confirmed"
        ? "commit"
        : event.reason === "cancelled_by_merchant"
          ? "releaseAll"
          : "release";
    ctx.defer(settle, { orderId: event.orderId, change });
  };

  const handleOrderShipped = async (event: OrderShipped, ctx: HandlerContext): Promise<void> => {
    ctx.defer(settle, { orderId: event.orderId, change: "ship" });
  };

  /** The inventory rows a transaction's events will lock: placed orders' variants, and the held ones of the others. */
  const lockFirst = async (events: readonly LockedEvent[], tx: HandlerContext["tx"]): Promise<void> => {
    const variantIds = new Set<string>();
    const orderIds: string[] = [];
    for (const { topic, event } of events) {
      if (topic === TOPICS.orderPlaced)
        for (const item of (event as OrderPlaced).items) variantIds.add(lineVariantId(item));
      else orderIds.push((event as { orderId: string }).orderId);
    }
    await lockInventoryOf(tx, [...variantIds], orderIds);
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
