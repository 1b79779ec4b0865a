import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { SLOW_TOKEN } from "../consumers/src/payment/index.ts";
import type { Order } from "../domain/orders.ts";
import { type Api, checkoutAll, uniqueProductId } from "./support/api.ts";
import {
  drillTimeout,
  FAULT_MS,
  orderCount,
  percentiles,
  processorSettings,
  report,
  scaled,
} from "./support/drill.ts";
import { useE2e } from "./support/fixture.ts";
import { SAGA_CONSUMERS, sleep, waitFor } from "./support/pipeline.ts";
import { readRecords, readStock, tally } from "./support/records.ts";

/**
 * The card processor misbehaving for as long as a real incident lasts (FAULT_MS; `npm run drill`: 3
 * minutes, with the production limits), while ordinary orders flow:
 * - it ignores a few orders (`tok_processorSlow`): their events are parked, so every ordinary order
 *   behind them is confirmed; the slow ones end within the payment step's limit, with nothing held;
 * - it answers every call after its caller's deadline: orders are decided by the payment step's limit
 *   or confirmed once it recovers, and no cancelled order keeps an authorization.
 */
describe("a card processor misbehaving for minutes", () => {
  // With fulfillment: no order may reach the warehouse before its capture, late as the processor is.
  const e2e = useE2e({
    only: [...SAGA_CONSUMERS, "fulfillment"],
    settings: { ...processorSettings(), PAYMENT_SIM_SLOW_MS: String(FAULT_MS) },
  });
  /** The saga's outcome of an order: fulfilling and shipped orders were confirmed. */
  const outcomeOf = (order: Order): string =>
    order.status === "fulfilling" || order.status === "shipped" ? "confirmed" : order.status;

  /** Polls the orders until each is final, noting when it was first seen final. */
  const finalTimes = async (api: Api, orderIds: readonly string[], timeoutMs: number) => {
    const seen = new Map<string, { order: Order; at: number }>();
    await waitFor(
      "every order final",
      async () => {
        const open = orderIds.filter((id) => !seen.has(id));
        for (const order of await Promise.all(open.map((id) => api.order(id)))) {
          if (order.status !== "pending") seen.set(order.orderId, { order, at: Date.now() });
        }
        return seen.size === orderIds.length;
      },
      timeoutMs,
    );
    return seen;
  };

  /**
   * Places `count` carts of `productId` in waves spread over `spanMs`, each wave watched from when
   * it was placed; answers every order, final, with the time from its checkout to its outcome.
   */
  const placeOverTime = async (
    api: Api,
    productId: string,
    count: number,
    spanMs: number,
  ): Promise<Array<{ order: Order; ms: number }>> => {
    const waves = 5;
    const watched: Array<Promise<Array<{ order: Order; ms: number }>>> = [];
    for (let wave = 0; wave < waves; wave++) {
      const size = Math.ceil(count / waves);
      const carts = await Promise.all(Array.from({ length: size }, () => api.cartWith(productId, 1)));
      const placedAt = Date.now();
      const orders = await checkoutAll(api, carts);
      watched.push(
        finalTimes(
          api,
          orders.map((o) => o.orderId),
          FAULT_MS + 120_000,
        ).then((final) => [...final.values()].map(({ order, at }) => ({ order, ms: at - placedAt }))),
      );
      await sleep(spanMs / waves);
    }
    return (await Promise.all(watched)).flat();
  };

  /** Nothing of a cancelled order is held: no stock, no authorization on either side. */
  const expectNothingHeld = async (orders: ReadonlyMap<string, Order>) => {
    const ids = [...orders.keys()];
    await waitFor(
      "every payment settled on both sides",
      async () => {
        const records = await readRecords(e2e.pipeline.db, ids);
        return ids.every((id) => {
          const mine = records.payments.get(id);
          const theirs = e2e.pipeline.processor.stateOf(id);
          const order = orders.get(id);
          return order && outcomeOf(order) === "confirmed"
            ? mine === "captured" && theirs === "captured"
            : ["voided", "declined"].includes(mine ?? "") && (theirs === undefined || theirs === "voided");
        });
      },
      FAULT_MS + 120_000,
    );
    // Settlements (reservations committed or released) may finish after the final state.
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, ids)).heldReservations, { timeout: 30_000 })
      .toBe(0);
    for (const id of ids) expect(e2e.pipeline.processor.authorizationsOf(id)).toBeLessThanOrEqual(1);
  };

  it(
    "ignores a few orders: every ordinary order behind them is confirmed; the slow ones end with nothing held",
    async () => {
      const productId = uniqueProductId("drill_slow_cards");
      const ordinaryCount = orderCount(100, 30);
      await e2e.api.createProduct(productId, 1_000);
      const started = Date.now();
      const slowCarts = await Promise.all(
        Array.from({ length: orderCount(6, 3) }, () => e2e.api.cartWith(productId, 1)),
      );
      const slow = await checkoutAll(e2e.api, slowCarts, SLOW_TOKEN);
      const ordinary = await placeOverTime(e2e.api, productId, ordinaryCount, FAULT_MS * 0.8);

      const outcomes = tally(ordinary.map(({ order }) => outcomeOf(order)));
      expect(Object.fromEntries(outcomes)).toEqual({ confirmed: ordinaryCount });

      const slowFinal = await e2e.api.waitFinal(
        slow.map((o) => o.orderId),
        FAULT_MS + 120_000,
      );
      for (const order of slowFinal.values()) expect(["confirmed", "cancelled"]).toContain(outcomeOf(order));
      // Once the processor answers again, the authorizations it made meanwhile come to light too.
      await sleep(Math.max(0, started + FAULT_MS + scaled(10_000) - Date.now()));
      await expectNothingHeld(slowFinal);
      report("slow cards", {
        ordinary: ordinaryCount,
        ordinaryConfirmedMs: percentiles(ordinary.map((o) => o.ms)),
        slow: Object.fromEntries(
          tally([...slowFinal.values()].map((o) => `${outcomeOf(o)}:${o.reason ?? ""}`)),
        ),
        settledAfterMs: Date.now() - started,
      });
      const stock = await readStock(e2e.pipeline.db, productId);
      const confirmedUnits =
        ordinaryCount + [...slowFinal.values()].filter((o) => outcomeOf(o) === "confirmed").length;
      expect(stock).toEqual({ available: 1_000 - confirmedUnits, reserved: 0 });
    },
    drillTimeout(),
  );

  it(
    "answers every call after the caller's deadline: every order ends confirmed, or cancelled with its authorization voided",
    async () => {
      const productId = uniqueProductId("drill_late_answers");
      const count = orderCount(100, 30);
      await e2e.api.createProduct(productId, 1_000);
      const started = Date.now();
      e2e.pipeline.processor.answerLate(scaled(10_000) * 1.5, FAULT_MS);
      // Watched all along: an order at the warehouse always has its payment captured.
      let atWarehouseUncaptured = 0;
      const watch = setInterval(() => {
        void e2e.pipeline.db
          .execute<{ n: number }>(
            sql`select count(*)::int as n from orders o join order_lines l using (order_id)
              join payments p using (order_id)
              where l.product_id = ${productId} and o.status in ('fulfilling', 'shipped')
                and p.status <> 'captured'`,
          )
          .then((r) => {
            atWarehouseUncaptured = Math.max(atWarehouseUncaptured, r.rows[0]?.n ?? 0);
          });
      }, 500);
      const placed = await placeOverTime(e2e.api, productId, count, FAULT_MS * 0.8).finally(() =>
        clearInterval(watch),
      );
      const final = new Map(placed.map(({ order }) => [order.orderId, order]));
      // Calls made during the fault have all answered (late) by then.
      await sleep(Math.max(0, started + FAULT_MS + scaled(10_000) * 2 - Date.now()));
      const outcomes = tally([...final.values()].map((o) => `${outcomeOf(o)}:${o.reason ?? ""}`));
      expect([...outcomes.keys()].every((k) => k === "confirmed:" || k === "cancelled:payment_timeout")).toBe(
        true,
      );
      await expectNothingHeld(final);
      // Every confirmed order reaches the warehouse once its capture landed; no cancelled one does.
      const confirmedIds = [...final.values()]
        .filter((o) => outcomeOf(o) === "confirmed")
        .map((o) => o.orderId);
      await waitFor(
        "every confirmed order at the warehouse",
        () => confirmedIds.every((id) => e2e.pipeline.warehouse.fulfillmentsOf(id) > 0),
        60_000,
      );
      const atWarehouse = [...final.keys()].filter((id) => e2e.pipeline.warehouse.fulfillmentsOf(id) > 0);
      expect(atWarehouse.length).toBe(confirmedIds.length);
      expect(atWarehouseUncaptured).toBe(0);
      expect(atWarehouse.every((id) => e2e.pipeline.processor.stateOf(id) === "captured")).toBe(true);
      report("late answers", {
        orders: count,
        outcomes: Object.fromEntries(outcomes),
        atWarehouse: atWarehouse.length,
        atWarehouseUncaptured,
        settledAfterMs: Date.now() - started,
      });
      const confirmed = [...final.values()].filter((o) => outcomeOf(o) === "confirmed").length;
      expect(await readStock(e2e.pipeline.db, productId)).toEqual({
        available: 1_000 - confirmed,
        reserved: 0,
      });
    },
    drillTimeout(),
  );
});
