import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { checkoutAll, uniqueProductId } from "./support/api.ts";
import { type ConsumersProcess, kill, spawnConsumers, VERBOSE } from "./support/consumers-process.ts";
import { drillTimeout, FAULT_MS, orderCount, processorSettings, report } from "./support/drill.ts";
import { useE2e } from "./support/fixture.ts";
import { sleep, waitFor } from "./support/pipeline.ts";
import { readRecords, readStock, tally } from "./support/records.ts";

/**
 * The whole consumers process frozen (SIGSTOP: a stuck container, a long GC pause, a node being
 * drained) for FAULT_MS while shoppers check out. Checkout needs none of it; the orders wait in Kafka.
 * After it resumes (SIGCONT), every order is confirmed: lag never cancels an order, since the payment
 * step's limit counts from when that step started on it.
 */
describe("the consumers paused for minutes while orders are placed", () => {
  const e2e = useE2e({ only: [] });
  let consumers: ConsumersProcess | undefined;
  afterAll(async () => {
    if (consumers) {
      consumers.child.kill("SIGCONT");
      await kill(consumers);
    }
  });

  it(
    "confirms every order placed during the pause once it ends; stock and captures add up",
    async () => {
      const proc = spawnConsumers(e2e.stack, e2e.pipeline.groupSuffix, "consumers", {
        consumers: ["orders", "inventory", "payment", "order-state", "email", "cart-persistence"],
        env: processorSettings(),
      });
      consumers = proc;
      onTestFailed(() => {
        if (!VERBOSE) console.error(`----- consumers output -----\n${proc.output()}`);
      });
      await proc.ready;
      const productId = uniqueProductId("drill_paused");
      const count = orderCount(50, 20);
      await e2e.api.createProduct(productId, count * 2);
      const carts = await Promise.all(Array.from({ length: count }, () => e2e.api.cartWith(productId, 2)));

      proc.child.kill("SIGSTOP");
      const pausedAt = Date.now();
      const orderIds: string[] = [];
      // Shoppers check out all through the pause.
      for (let i = 0; i < count; i += 5) {
        for (const order of await checkoutAll(e2e.api, carts.slice(i, i + 5))) orderIds.push(order.orderId);
        await sleep((FAULT_MS * 0.8) / (count / 5));
      }
      await sleep(Math.max(0, FAULT_MS - (Date.now() - pausedAt)));
      proc.child.kill("SIGCONT");
      const resumedAt = Date.now();

      const final = await e2e.api.waitFinal(orderIds, FAULT_MS + 120_000);
      const finalAfterMs = Date.now() - resumedAt;
      expect(Object.fromEntries(tally([...final.values()].map((o) => o.status)))).toEqual({
        confirmed: count,
      });
      await waitFor(
        "every payment captured and every email written",
        async () => {
          const r = await readRecords(e2e.pipeline.db, orderIds);
          return orderIds.every((id) => r.payments.get(id) === "captured" && r.emails.get(id) === 1);
        },
        60_000,
      );
      await expect
        .poll(async () => (await readRecords(e2e.pipeline.db, orderIds)).heldReservations, {
          timeout: 30_000,
        })
        .toBe(0);
      expect(await readStock(e2e.pipeline.db, productId)).toEqual({ available: 0, reserved: 0 });
      report("consumers paused", {
        orders: count,
        pausedMs: resumedAt - pausedAt,
        allConfirmedAfterResumeMs: finalAfterMs,
      });
    },
    drillTimeout(),
  );
});
