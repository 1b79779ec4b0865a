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
  capturedUnrequestedOrders,
  fulfillingOrders,
  loadFulfillmentRequest,
  markFulfilling,
  markShipped,
  statusOf,
} from "./fulfillment-store.ts";
import type { CancelAnswer, FulfillmentProvider } from "./provider.ts";

/**
 * Fulfillment, the step after the order saga (overview: ../order-state/SAGA.md):
 * - `order-finalized` confirmed → once its payment is captured, the order is requested at the
 *   warehouse (in `prepare`, outside any transaction; the provider is idempotent on the order id),
 *   then moved confirmed → fulfilling. Nothing ships without the money: an order whose capture has
 *   not landed yet is requested by the tracking task once it has (capture and this event run side
 *   by side), and one whose capture never lands stays confirmed (`orders_confirmed_uncaptured`). An
 *   order no longer confirmed (a merchant cancelled it) is not requested.
 * - `order-finalized` cancelled by the merchant → the warehouse is told not to ship it (the
 *   compensation of the request; a no-op for an order it never had).
 * - the tracking task requests the confirmed orders whose capture landed since, and polls the
 *   warehouse about fulfilling orders; a shipped one moves
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
    if (!found.captured) {
      ctx.log.debug({ orderId: event.orderId }, "payment not captured yet; requested once it is");
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

  /** Requests a confirmed, captured order at the warehouse; true when this call moved it to fulfilling. */
  const requestOne = async (ctx: TaskContext, orderId: string): Promise<boolean> => {
    const found = await loadFulfillmentRequest(ctx.db, orderId);
    if (found?.status !== "confirmed" || !found.captured) return false;
    await provider.request(found.request);
    return ctx.transaction(async (tx) => {
      if (!(await markFulfilling(tx.tx, orderId))) return false;
      syncStatus(tx, orderId);
      return true;
    });
  };

  /** Runs `call` over the orders, `concurrency` at a time; a failed call is tried again next pass. */
  const pass = async (
    ctx: TaskContext,
    what: string,
    orderIds: readonly string[],
    call: (ctx: TaskContext, orderId: string) => Promise<boolean>,
  ): Promise<void> => {
    let done = 0;
    let failed = 0;
    for (let i = 0; i < orderIds.length; i += concurrency) {
      await Promise.all(
        orderIds.slice(i, i + concurrency).map(async (orderId) => {
          try {
            if (await call(ctx, orderId)) done++;
          } catch (error) {
            failed++;
            ctx.log.debug({ orderId, err: error }, `${what} call failed; asking again next pass`);
          }
        }),
      );
    }
    if (done > 0 || failed > 0) ctx.log.info({ done, failed }, `${what} pass`);
  };

  /** One pass: the orders captured since their confirmation, then the orders at the warehouse. */
  const track = async (ctx: TaskContext): Promise<void> => {
    await pass(ctx, "fulfillment request", await capturedUnrequestedOrders(ctx.db, batchSize), requestOne);
    await pass(ctx, "shipment tracking", await fulfillingOrders(ctx.db, batchSize), trackOne);
  };

  return {
    name: "fulfillment",
    subscriptions: [subscribePrepared(TOPICS.orderFinalized, OrderFinalizedSchema, { prepare, handle })],
    tasks: [{ name: TRACKING_TASK, intervalMs: deps.pollIntervalMs ?? 500, run: track }],
    effects: statusEffect ? [statusEffect] : [],
  };
};
