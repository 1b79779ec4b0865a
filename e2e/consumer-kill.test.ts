import { and, count, eq, inArray, lte } from "drizzle-orm";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import type { Db } from "../db/node-client.ts";
import { processedEvents, stockReservations } from "../db/schema/index.ts";
import { TOPICS } from "../domain/topics.ts";
import { checkoutAll, overstateStockCounter, uniqueProductId } from "./support/api.ts";
import { type ConsumersProcess, kill, spawnConsumers, VERBOSE } from "./support/consumers-process.ts";
import { useE2e } from "./support/fixture.ts";
import { sleep, waitFor } from "./support/pipeline.ts";
import { createRecorder } from "./support/recorder.ts";
import { readRecords, readStock, tally } from "./support/records.ts";

/** How many of the orders a consumer has applied the order-placed event of (by `before`, if given). */
const placedProcessedBy = async (
  db: Db,
  consumer: string,
  orderIds: readonly string[],
  before?: Date,
): Promise<number> => {
  if (orderIds.length === 0) return 0;
  const [row] = await db
    .select({ n: count() })
    .from(processedEvents)
    .where(
      and(
        eq(processedEvents.consumer, consumer),
        inArray(
          processedEvents.eventId,
          orderIds.map((id) => `order-placed:${id}`),
        ),
        before ? lte(processedEvents.processedAt, before) : undefined,
      ),
    );
  return row?.n ?? 0;
};

/** Issue 4, scenario 4 for real: the consumers process is SIGKILLed mid-stream and started again. */
describe("consumers process killed with SIGKILL mid-stream and restarted", () => {
  const recorder = createRecorder();
  const e2e = useE2e({
    // Inventory and payment run in the child process, in the same groups.
    only: ["orders", "order-state", "email", "cart-persistence"],
    extras: [recorder.def],
  });
  const processes: ConsumersProcess[] = [];

  /** The output of every consumers process this file started (on failure, or with TEST_LOG_LEVEL). */
  const dumpOutput = (): void => {
    for (const p of processes) console.error(`----- ${p.label} output -----\n${p.output()}`);
  };
  const startConsumers = async (label: string): Promise<ConsumersProcess> => {
    const proc = spawnConsumers(e2e.stack, e2e.pipeline.groupSuffix, label);
    processes.push(proc);
    try {
      await proc.ready;
    } catch (error) {
      if (!VERBOSE) dumpOutput();
      throw error;
    }
    return proc;
  };

  // Runs before the fixture's own clean-up (after-hooks run last registered first).
  afterAll(async () => {
    await Promise.all(processes.map(kill));
  });

  it("every order still reaches exactly one final state; stock stays consistent", async () => {
    onTestFailed(() => {
      if (!VERBOSE) dumpOutput();
    });
    const first = await startConsumers("consumers#1");
    const productId = uniqueProductId("e2e_sigkill");
    const units = 25;
    const streamed = 60;
    const whileDead = 12;
    await e2e.api.createProduct(productId, units);
    // More orders than units go down the pipeline: the edge counter is made wrong on purpose, so
    // Postgres alone decides who gets the stock (and cancels the rest out_of_stock).
    await overstateStockCounter(e2e.stack, productId);
    const carts = await Promise.all(
      Array.from({ length: streamed + whileDead }, (_, i) =>
        e2e.api.cartWith(productId, 1).then((cartId) => ({ cartId, declined: i % 6 === 5 })),
      ),
    );
    const orderIds: string[] = [];
    const declinedOrders = new Set<string>();
    /** Checks out the carts of a wave at once; each order id is known as soon as its 202 is. */
    const place = async (wave: typeof carts): Promise<void> => {
      await Promise.all(
        wave.map(async ({ cartId, declined }) => {
          const [order] = await checkoutAll(e2e.api, [cartId], declined ? "tok_chargeDeclined" : "tok_visa");
          if (!order) throw new Error(`no order for cart ${cartId}`);
          orderIds.push(order.orderId);
          if (declined) declinedOrders.add(order.orderId);
        }),
      );
    };

    // A steady stream of checkouts, in waves of 10.
    const started = Date.now();
    const stream = (async () => {
      for (let i = 0; i < streamed; i += 10) {
        await place(carts.slice(i, i + 10));
        await sleep(300);
      }
    })();
    let streamFailure: unknown;
    stream.catch((error: unknown) => {
      streamFailure = error; // Thrown by the wait below (and by `await stream`).
    });

    // As soon as inventory holds stock for an order, kill the process outright: no shutdown, the
    // events in flight abandoned mid-transaction and uncommitted. (The holds are watched, not the
    // order ids: inventory is often done with an order before its checkout has answered.)
    const deadline = Date.now() + 120_000;
    for (;;) {
      const [holds] = await e2e.pipeline.db
        .select({ n: count() })
        .from(stockReservations)
        .where(eq(stockReservations.variantId, productId));
      if (streamFailure) throw streamFailure;
      if ((holds?.n ?? 0) >= 1) break;
      if (Date.now() > deadline) throw new Error("inventory held no stock in 120 s");
      await sleep(10);
    }
    const answeredBeforeKill = orderIds.length;
    await kill(first);
    const killedAtDate = new Date();
    const killedAt = Date.now() - started;
    expect(first.child.signalCode).toBe("SIGKILL");

    // Checkouts go on while no inventory or payment consumer is alive, then the process comes back.
    await stream;
    await place(carts.slice(streamed));
    const orderCount = orderIds.length;
    expect(orderCount).toBe(streamed + whileDead);
    // Nothing applies order-placed events while the process is dead: these are the counts at the kill.
    const atKill = {
      checkoutsAnswered: answeredBeforeKill,
      /** Orders the in-process orders consumer had recorded: in Kafka before the kill, at least. */
      recorded: await placedProcessedBy(e2e.pipeline.db, "orders", orderIds, killedAtDate),
      inventory: await placedProcessedBy(e2e.pipeline.db, "inventory", orderIds),
      payment: await placedProcessedBy(e2e.pipeline.db, "payment", orderIds),
    };
    console.log(`[e2e sigkill] killed at ${killedAt} ms: ${JSON.stringify(atKill)}`);
    // Really mid-stream: some, not all, of the orders had been through inventory when it died.
    expect(atKill.inventory).toBeGreaterThanOrEqual(1);
    expect(atKill.inventory).toBeLessThan(streamed);
    const respawnedAt = Date.now() - started;
    await startConsumers("consumers#2");
    const restartedAt = Date.now() - started;

    const final = await e2e.api.waitFinal(orderIds, 180_000);
    const finalAt = Date.now() - started;
    console.log(
      `[e2e sigkill] respawned at ${respawnedAt} ms, ready at ${restartedAt} ms; ${orderCount} orders final at ${finalAt} ms (${finalAt - restartedAt} ms after the restart)`,
    );
    const outcomes = tally([...final.values()].map((o) => `${o.status}:${o.reason ?? ""}`));
    console.log(`[e2e sigkill] outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    const confirmed = outcomes.get("confirmed:") ?? 0;
    expect(
      (outcomes.get("cancelled:payment_declined") ?? 0) +
        (outcomes.get("cancelled:out_of_stock") ?? 0) +
        confirmed,
    ).toBe(orderCount);
    expect(confirmed).toBeGreaterThanOrEqual(1);
    expect(confirmed).toBeLessThanOrEqual(units);

    // Every order-placed event applied once by each step, each order finalized by one event.
    expect(await placedProcessedBy(e2e.pipeline.db, "inventory", orderIds)).toBe(orderCount);
    expect(await placedProcessedBy(e2e.pipeline.db, "payment", orderIds)).toBe(orderCount);
    const ours = new Set(orderIds);
    const finalizedIds = new Map<string, Set<string>>();
    await waitFor("an order-finalized event of every order", () => {
      for (const e of recorder.events) {
        if (e.topic !== TOPICS.orderFinalized || !ours.has(e.key)) continue;
        finalizedIds.set(e.key, (finalizedIds.get(e.key) ?? new Set()).add(e.value.eventId));
      }
      return finalizedIds.size === orderCount;
    });
    expect([...finalizedIds.values()].every((ids) => ids.size === 1)).toBe(true);
    for (const e of recorder.events.filter((e) => e.topic === TOPICS.orderFinalized && ours.has(e.key))) {
      expect({ status: e.value.status, reason: e.value.reason }).toEqual({
        status: final.get(e.key)?.status,
        reason: final.get(e.key)?.reason,
      });
    }

    // Settlements (commit / release, capture / void, email) finish after the final state.
    const settlements = async () => {
      const r = await readRecords(e2e.pipeline.db, orderIds);
      const authorized = [...r.payments.values()].filter((status) => status === "authorized").length;
      return { emails: r.emails.size, heldReservations: r.heldReservations, authorized };
    };
    await expect
      .poll(settlements, { timeout: 30_000 })
      .toEqual({ emails: orderCount, heldReservations: 0, authorized: 0 });
    const records = await readRecords(e2e.pipeline.db, orderIds);
    expect([...records.emails.values()].every((n) => n === 1)).toBe(true);
    expect(records.payments.size).toBe(orderCount);
    for (const id of orderIds) {
      const order = final.get(id);
      expect(records.orders.get(id)).toEqual({ status: order?.status, reason: order?.reason ?? null });
      if (order?.status === "confirmed") expect(records.payments.get(id)).toBe("captured");
      else expect(["voided", "declined"]).toContain(records.payments.get(id));
      if (order?.reason === "payment_declined") expect(records.payments.get(id)).toBe("declined");
      // A declined card never confirms; a good one is cancelled only for want of stock.
      if (declinedOrders.has(id)) expect(order?.status).toBe("cancelled");
      else if (order?.status === "cancelled") expect(order.reason).toBe("out_of_stock");
    }

    // Stock: the confirmed orders' holds are committed, every other hold released.
    const holds = await e2e.pipeline.db
      .select({ orderId: stockReservations.orderId, status: stockReservations.status })
      .from(stockReservations)
      .where(eq(stockReservations.variantId, productId));
    const committed = holds.filter((h) => h.status === "committed").map((h) => h.orderId);
    const confirmedIds = orderIds.filter((id) => final.get(id)?.status === "confirmed");
    expect(committed.sort()).toEqual(confirmedIds.sort());
    expect(holds.every((h) => h.status === "committed" || h.status === "released")).toBe(true);
    expect(await readStock(e2e.pipeline.db, productId)).toEqual({
      available: units - confirmed,
      reserved: 0,
    });
    expect(await e2e.api.stock(productId)).toMatchObject({
      productId,
      available: units - confirmed,
      reserved: 0,
    });
  });
});
