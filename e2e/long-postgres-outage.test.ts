import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { STOCK_FRESH_MS, stockKey } from "../domain/stock-counter.ts";
import { type CheckoutAnswer, placeAll, uniqueProductId } from "./support/api.ts";
import { drillTimeout, FAULT_MS, orderCount, report } from "./support/drill.ts";
import { useE2e } from "./support/fixture.ts";
import { sleep } from "./support/pipeline.ts";
import { readRecords, readStock, tally } from "./support/records.ts";

/**
 * The workers' PostgreSQL (here also the consumers': the drill's throwaway cluster, one system of
 * record) stopped for FAULT_MS during steady checkouts. The edge keeps answering from Redis: carts,
 * the cached catalog, and the stock counter's last known levels, so checkouts of known products keep
 * answering 202 (and 409 out_of_stock past what the counter holds); once Postgres is back, every
 * accepted order is confirmed, and nothing is oversold.
 */
const stack = inject("stack");
describe("the workers' PostgreSQL stopped for minutes during steady checkouts", () => {
  const e2e = useE2e({
    services: {
      databaseUrl: stack.drillDatabaseUrl,
      edgeDatabaseUrl: stack.drillEdgeDatabaseUrl,
      neonUrl: stack.drillNeonUrl,
    },
  });
  let stopped = false;
  const drill = async (action: "stop" | "start") => {
    const res = await fetch(`${stack.drillControlUrl}/postgres/${action}`, { method: "POST" });
    expect(res.status).toBe(204);
    stopped = action === "stop";
  };
  afterAll(async () => {
    if (stopped) await drill("start");
  });

  it(
    "answers 202 for known products all through, confirms every accepted order after, and oversells nothing",
    async () => {
      const plenty = uniqueProductId("drill_pg_plenty");
      const scarce = uniqueProductId("drill_pg_scarce");
      const count = orderCount(60, 20);
      const scarceUnits = 5;
      await e2e.api.createProduct(plenty, count * 2);
      await e2e.api.createProduct(scarce, scarceUnits + 1);
      // One order of each while Postgres is up: their catalog entries and stock levels are known.
      const warmUp = await placeAll(e2e.api, [
        await e2e.api.cartWith(plenty, 1),
        await e2e.api.cartWith(scarce, 1),
      ]);
      expect(warmUp.map((a) => a.status)).toEqual([202, 202]);
      await e2e.api.waitFinal(warmUp.flatMap((a) => (a.order ? [a.order.orderId] : [])));

      await drill("stop");
      const stoppedAt = Date.now();
      if (FAULT_MS < STOCK_FRESH_MS) {
        // A short run: the levels age as a long outage would age them (past the minute they are fresh for).
        const redis = new Redis(stack.redisUrl);
        for (const productId of [plenty, scarce]) await redis.hset(stockKey(productId), "s", "0");
        redis.disconnect();
      }
      const answers: CheckoutAnswer[] = [];
      const scarceAnswers: CheckoutAnswer[] = [];
      // Steady checkouts through the outage (carts made meanwhile too: Redis only).
      for (let i = 0; i < count; i++) {
        answers.push(...(await placeAll(e2e.api, [await e2e.api.cartWith(plenty, 1)])));
        if (i < scarceUnits + 3)
          scarceAnswers.push(...(await placeAll(e2e.api, [await e2e.api.cartWith(scarce, 1)])));
        await sleep((FAULT_MS * 0.8) / count);
      }
      await sleep(Math.max(0, FAULT_MS - (Date.now() - stoppedAt)));
      await drill("start");

      expect(Object.fromEntries(tally(answers.map((a) => a.status)))).toEqual({ 202: count });
      // The counter's last level held what was left (scarceUnits): the rest are refused at once.
      expect(Object.fromEntries(tally(scarceAnswers.map((a) => a.error?.code ?? a.status)))).toEqual({
        202: scarceUnits,
        out_of_stock: 3,
      });
      const accepted = [...answers, ...scarceAnswers].flatMap((a) => (a.order ? [a.order.orderId] : []));
      const final = await e2e.api.waitFinal(accepted, FAULT_MS + 120_000);
      expect(Object.fromEntries(tally([...final.values()].map((o) => o.status)))).toEqual({
        confirmed: accepted.length,
      });
      // Settlements (reservations committed) finish after the final state.
      await expect
        .poll(async () => (await readRecords(e2e.pipeline.db, accepted)).heldReservations, {
          timeout: 30_000,
        })
        .toBe(0);
      expect(await readStock(e2e.pipeline.db, plenty)).toEqual({
        available: count * 2 - 1 - count,
        reserved: 0,
      });
      expect(await readStock(e2e.pipeline.db, scarce)).toEqual({ available: 0, reserved: 0 });
      report("workers' postgres stopped", {
        checkouts: count + scarceAnswers.length,
        accepted: accepted.length,
        refusedOutOfStock: 3,
        stoppedMs: FAULT_MS,
      });
    },
    drillTimeout(),
  );
});
