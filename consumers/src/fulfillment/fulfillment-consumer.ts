import { randomUUID } from "node:crypto";
import {
  type OrderFinalized,
  OrderFinalizedSchema,
  OrderShippedSchema,
} from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type OrderStatusCache, orderStatusEffect } from "../order-state/index.ts";
import {
  type ConsumerDefinition,
  type HandlerContext,
  type PrepareContext,
  subscribePrepared,
  type TaskContext,
  type TxContext,
} from "../runtime/types.ts";
import {
  fulfillingOrders,
  loadFulfillmentRequest,
  markFulfilling,
  markShipped,
  statusOf,
} from "./fulfillment-store.ts";
import type { CancelAnswer, FulfillmentProvider } from "./provider.ts";

/**
 * Fulfillment, the step after the order saga (overview: ../order-state/SAGA.md):
 * - `order-finalized` confirmed → the order is requested at the warehouse (in `prepare`, outside any
 *   transaction; the provider is idempotent on the order id), then moved confirmed → fulfilling. An
 *   order no longer confirmed (a merchant cancelled it) is not requested.
 * - `order-finalized` cancelled by the merchant → the warehouse is told not to ship it (the
 *   compensation of the request; a no-op for an order it never had).
 * - the tracking task polls the warehouse about fulfilling orders; a shipped one moves
 *   fulfilling → shipped with its shipment and `order-shipped` goes out through the outbox, once
 *   (a conditional update of the order row). Inventory and email act on that event.
 * Each transaction also records the rewrite of the order's status record in Redis from Postgres (a
 * durable effect, applied after the commit).
 */
export interface FulfillmentOptions {
  provider: FulfillmentProvider;
  /** The Redis status record that GET /v1/orders/:id reads first; without it, Postgres only. */
  statusCache?: OrderStatusCache;
  /** How often the warehouse is asked about fulfilling orders (FULFILLMENT_POLL_INTERVAL_MS). */
  pollIntervalMs?: number;
  /** Orders asked about per pass, and how many warehouse calls run at once. */
  batchSize?: number;
  concurrency?: number;
}

export const TRACKING_TASK = "shipment-tracking";

type Prepared =
  | { step: "request"; sent: boolean }
  | { step: "cancel"; answer: CancelAnswer }
  | { step: "none" };

export const createFulfillmentConsumer = (deps: FulfillmentOptions): ConsumerDefinition => {
  const { provider } = deps;
  const batchSize = deps.batchSize ?? 200;
  const concurrency = deps.concurrency ?? 8;

  const statusEffect = deps.statusCache ? orderStatusEffect(deps.statusCache) : undefined;
  const syncStatus = (ctx: TxContext, orderId: string): void => {
    if (statusEffect) ctx.effect(statusEffect, orderId, {});
  };

  const prepare = async (event: OrderFinalized, ctx: PrepareContext): Promise<Prepared> => {
    if (event.status === "cancelled") {
      // Only a merchant cancels an order that may be at the warehouse; the saga cancels before.
      if (event.reason !== "cancelled_by_merchant") return { step: "none" };
      return { step: "cancel", answer: await provider.cancel(event.orderId) };
    }
    const found = await loadFulfillmentRequest(ctx.db, event.orderId);
    // Retried, then dead-lettered: a finalized order always has its row (orders wrote it first).
    if (!found) throw new Error(`order ${event.orderId} is not in Postgres`);
    if (found.status !== "confirmed") {
      ctx.log.info({ orderId: event.orderId, status: found.status }, "order not confirmed; not requested");
      return { step: "request", sent: false };
    }
    await provider.request(found.request);
    return { step: "request", sent: true };
  };

  const handle = async (event: OrderFinalized, ctx: HandlerContext, prepared: Prepared): Promise<void> => {
    const log = ctx.log.child({ orderId: event.orderId });
    if (prepared.step === "request" && prepared.sent) {
      if (await markFulfilling(ctx.tx, event.orderId)) {
        log.info("order requested at the warehouse");
        syncStatus(ctx, event.orderId);
        return;
      }
      // Cancelled between the request and now: the cancellation's event withdraws the request.
      log.warn({ status: await statusOf(ctx.tx, event.orderId) }, "order left confirmed while requested");
    }
    if (prepared.step === "cancel") {
      if (prepared.answer === "shipped") {
        log.error("the warehouse shipped an order cancelled before its shipment was recorded");
      } else log.info("fulfillment cancelled at the warehouse");
      syncStatus(ctx, event.orderId);
    }
  };

  /** Asks the warehouse about one fulfilling order; true when this call recorded its shipment. */
  const trackOne = async (ctx: TaskContext, orderId: string): Promise<boolean> => {
    const status = await provider.status(orderId);
    if (status.state === "unknown") {
      // The warehouse lost the request (or another process made it): request it again.
      const found = await loadFulfillmentRequest(ctx.db, orderId);
      if (found?.status === "fulfilling") await provider.request(found.request);
      return false;
    }
    if (status.state !== "shipped") return false;
    return ctx.transaction(async (tx) => {
      if (!(await markShipped(tx.tx, orderId, status.shipment))) {
        const now = await statusOf(tx.tx, orderId);
        if (now === "cancelled") {
          tx.log.error(
            { orderId },
            "the warehouse shipped an order cancelled before its shipment was recorded",
          );
        }
        return false;
      }
      const event = OrderShippedSchema.parse({ eventId: randomUUID(), orderId, shipment: status.shipment });
      await tx.emit(TOPICS.orderShipped, orderId, event);
      syncStatus(tx, orderId);
      return true;
    });
  };

  /** One pass over the fulfilling orders; a failed warehouse call is tried again on the next pass. */
  const track = async (ctx: TaskContext): Promise<void> => {
    const orderIds = await fulfillingOrders(ctx.db, batchSize);
    let shipped = 0;
    let failed = 0;
    for (let i = 0; i < orderIds.length; i += concurrency) {
      await Promise.all(
        orderIds.slice(i, i + concurrency).map(async (orderId) => {
          try {
            if (await trackOne(ctx, orderId)) shipped++;
          } catch (error) {
            failed++;
            ctx.log.debug({ orderId, err: error }, "shipment tracking call failed; asking again next pass");
          }
        }),
      );
    }
    if (shipped > 0 || failed > 0) ctx.log.info({ shipped, failed }, "shipment tracking pass");
  };

  return {
    name: "fulfillment",
    subscriptions: [subscribePrepared(TOPICS.orderFinalized, OrderFinalizedSchema, { prepare, handle })],
    tasks: [{ name: TRACKING_TASK, intervalMs: deps.pollIntervalMs ?? 500, run: track }],
    effects: statusEffect ? [statusEffect] : [],
  };
};
