import { randomUUID } from "node:crypto";
import pMap from "p-map";
import {
  type OrderFinalized,
  OrderFinalizedSchema,
  OrderShippedSchema,
  type OrderStatus,
  ShipmentSchema,
} from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type OrderStatusCache, orderStatusEffect } from "../order-state/index.ts";
import type { StatusEffect } from "../order-state/status-effect.ts";
import { batchedLoads } from "../runtime/batched-loads.ts";
import { describeError, isDependencyDown } from "../runtime/failures.ts";
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
  type FulfillmentOrder,
  fulfillingOrders,
  loadFulfillmentRequests,
  markFulfilling,
  markShipped,
  statusesOf,
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
 * Each tracking pass asks the warehouse about its orders one call each, and records what they answered
 * in one transaction. Each transaction also records the rewrite of the order's status record in Redis
 * with what it wrote (a durable effect, applied after the commit).
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

/** The orders a lane's prepare steps ask about, read together (one statement). */
const fulfillmentLoads = batchedLoads(async (db, orderIds: readonly string[]) => {
  const found = await loadFulfillmentRequests(db, orderIds);
  return orderIds.map((id) => found.get(id));
});

type Prepared =
  | { step: "request"; sent: boolean }
  | { step: "cancel"; answer: CancelAnswer }
  | { step: "none" };

export const createFulfillmentConsumer = (deps: FulfillmentOptions): ConsumerDefinition => {
  const { provider } = deps;
  const batchSize = deps.batchSize ?? 200;
  const concurrency = deps.concurrency ?? 8;

  const statusEffect = deps.statusCache ? orderStatusEffect(deps.statusCache) : undefined;
  /** Records the status record's rewrite: with what the statement wrote, or (none) from Postgres. */
  const recordStatus = (ctx: TxContext, orderId: string, final?: StatusEffect["final"]): void => {
    if (statusEffect) ctx.effect(statusEffect, orderId, final ? { final } : {});
  };

  const prepare = async (event: OrderFinalized, ctx: PrepareContext): Promise<Prepared> => {
    if (event.status === "cancelled") {
      // Only a merchant cancels an order that may be at the warehouse; the saga cancels before.
      if (event.reason !== "cancelled_by_merchant") return { step: "none" };
      return { step: "cancel", answer: await provider.cancel(event.orderId) };
    }
    const found = await fulfillmentLoads(ctx.db).load(event.orderId);
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
    const about = { orderId: event.orderId };
    if (prepared.step === "request" && prepared.sent) {
      const at = (await markFulfilling(ctx.tx, [event.orderId])).get(event.orderId);
      if (at) {
        ctx.log.info(about, "order requested at the warehouse");
        recordStatus(ctx, event.orderId, { status: "fulfilling", updatedAt: at });
        return;
      }
      // Cancelled between the request and now: the cancellation's event withdraws the request.
      const now = (await statusesOf(ctx.tx, [event.orderId])).get(event.orderId);
      ctx.log.warn({ ...about, status: now }, "order left confirmed while requested");
    }
    if (prepared.step === "cancel") {
      if (prepared.answer === "shipped") {
        ctx.log.error(about, "the warehouse shipped an order cancelled before its shipment was recorded");
      } else ctx.log.info(about, "fulfillment cancelled at the warehouse");
      recordStatus(ctx, event.orderId);
    }
  };

  /**
   * Runs `call` for each order, `concurrency` at a time, and answers what the calls that succeeded
   * answered; a failed call is tried again on the next pass.
   */
  const callEach = async <I extends { orderId: string }, T>(
    ctx: TaskContext,
    what: string,
    items: readonly I[],
    call: (item: I) => Promise<T>,
  ): Promise<Array<{ orderId: string; answer: T }>> => {
    let failed = 0;
    const answers = await pMap(
      items,
      async (item) => {
        try {
          return [{ orderId: item.orderId, answer: await call(item) }];
        } catch (error) {
          failed++;
          ctx.log.debug({ orderId: item.orderId, err: error }, `${what} call failed; asking again next pass`);
          return [];
        }
      },
      { concurrency },
    );
    if (failed > 0) ctx.log.info({ failed }, `${what} calls failed`);
    return answers.flat();
  };

  /** The requests of the orders found in `status` (and captured, when asked), to send to the warehouse. */
  const requestsOf = (found: ReadonlyMap<string, FulfillmentOrder>, status: OrderStatus, captured: boolean) =>
    [...found.values()]
      .filter((order) => order.status === status && (!captured || order.captured))
      .map((order) => order.request);

  /**
   * Requests at the warehouse the confirmed orders whose capture landed after their `order-finalized`
   * was handled, and moves those requested to fulfilling, all in one transaction.
   */
  const requestCaptured = async (ctx: TaskContext): Promise<void> => {
    const found = await loadFulfillmentRequests(ctx.db, await capturedUnrequestedOrders(ctx.db, batchSize));
    const sent = await callEach(ctx, "fulfillment request", requestsOf(found, "confirmed", true), (request) =>
      provider.request(request),
    );
    if (sent.length === 0) return;
    const moved = await ctx.transaction(async (tx) => {
      const at = await markFulfilling(
        tx.tx,
        sent.map((s) => s.orderId),
      );
      for (const [orderId, updatedAt] of at) recordStatus(tx, orderId, { status: "fulfilling", updatedAt });
      return at.size;
    });
    if (moved > 0) ctx.log.info({ moved }, "captured orders requested at the warehouse");
  };

  /**
   * Asks the warehouse about the orders at it; records the shipments in one transaction (each order
   * moved to shipped once, its `order-shipped` emitted), and requests again the orders the warehouse
   * does not know (lost, or requested by a process that stopped before it recorded them).
   */
  const trackShipments = async (ctx: TaskContext): Promise<void> => {
    const atWarehouse = (await fulfillingOrders(ctx.db, batchSize)).map((orderId) => ({ orderId }));
    const asked = await callEach(ctx, "shipment tracking", atWarehouse, ({ orderId }) =>
      provider.status(orderId),
    );
    const unknown = asked.flatMap(({ orderId, answer }) => (answer.state === "unknown" ? [orderId] : []));
    if (unknown.length > 0) {
      const found = await loadFulfillmentRequests(ctx.db, unknown);
      await callEach(ctx, "fulfillment request", requestsOf(found, "fulfilling", false), (request) =>
        provider.request(request),
      );
    }
    const shipped = asked.flatMap(({ orderId, answer }) => {
      if (answer.state !== "shipped") return [];
      // A shipment the order row or `order-shipped` cannot hold is the warehouse's error: that order
      // waits (asked again next pass), the others are recorded.
      const shipment = ShipmentSchema.safeParse(answer.shipment);
      if (shipment.success) return [{ orderId, shipment: shipment.data }];
      ctx.log.error(
        { orderId, issues: shipment.error.issues },
        "the warehouse answered an unusable shipment",
      );
      return [];
    });
    if (shipped.length === 0) return;
    const record = (orders: typeof shipped) =>
      ctx.transaction(async (tx) => {
        const moved = await markShipped(tx.tx, orders);
        for (const [orderId, { updatedAt, shipment }] of moved) {
          const event = OrderShippedSchema.parse({ eventId: randomUUID(), orderId, shipment });
          await tx.emit(TOPICS.orderShipped, orderId, event);
          recordStatus(tx, orderId, { status: "shipped", shipment, updatedAt });
        }
        const missed = orders.filter(({ orderId }) => !moved.has(orderId)).map(({ orderId }) => orderId);
        for (const [orderId, status] of await statusesOf(tx.tx, missed)) {
          if (status === "cancelled") {
            tx.log.error(
              { orderId },
              "the warehouse shipped an order cancelled before its shipment was recorded",
            );
          }
        }
        return moved.size;
      });
    let recorded = 0;
    try {
      recorded = await record(shipped);
    } catch (error) {
      if (isDependencyDown(error) || shipped.length === 1) throw error;
      // One order's row refused what the others' accept: each on its own, so only it waits.
      ctx.log.warn({ err: describeError(error) }, "recording the shipments together failed; one by one");
      for (const one of shipped) {
        try {
          recorded += await record([one]);
        } catch (alone) {
          if (isDependencyDown(alone)) throw alone;
          ctx.log.error(
            { orderId: one.orderId, err: describeError(alone) },
            "shipment not recorded; asking again next pass",
          );
        }
      }
    }
    if (recorded > 0) ctx.log.info({ shipped: recorded }, "shipments recorded");
  };

  /** One pass: the orders captured since their confirmation, then the orders at the warehouse. */
  const track = async (ctx: TaskContext): Promise<void> => {
    await requestCaptured(ctx);
    await trackShipments(ctx);
  };

  return {
    name: "fulfillment",
    subscriptions: [subscribePrepared(TOPICS.orderFinalized, OrderFinalizedSchema, { prepare, handle })],
    tasks: [{ name: TRACKING_TASK, intervalMs: deps.pollIntervalMs ?? 500, run: track }],
    effects: statusEffect ? [statusEffect] : [],
  };
};
