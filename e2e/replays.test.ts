import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { overstateStockCounter, uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { waitFor } from "./support/pipeline.ts";
import { createRecorder, produceAgain, type RecordedEvent } from "./support/recorder.ts";
import { readRecords, readStock } from "./support/records.ts";

/** Issue 4, scenario 3: every event of finished orders delivered a second time changes nothing. */
describe("every event delivered twice", () => {
  const recorder = createRecorder();
  const e2e = useE2e({ extras: [recorder.def] });

  it("re-produced order-placed and pipeline events: no second effect anywhere", async () => {
    const productId = uniqueProductId("e2e_replay");
    await e2e.api.createProduct(productId, 3);
    // More orders than units go down the pipeline: the edge counter is made wrong on purpose, so
    // Postgres alone decides who gets the stock (and cancels the rest out_of_stock).
    await overstateStockCounter(e2e.stack, productId);
    const tokens = ["tok_visa", "tok_visa", "tok_chargeDeclined", "tok_visa", "tok_visa"];
    // One at a time, each final before the next: orders on different partitions race for the stock
    // otherwise, and this scenario is about replays, not about who gets the last unit.
    const orderIds: string[] = [];
    for (const token of tokens) {
      const answer = await e2e.api.checkout(await e2e.api.cartWith(productId, 1), token);
      expect(answer.status).toBe(202);
      if (answer.order) {
        orderIds.push(answer.order.orderId);
        await e2e.api.waitFinal([answer.order.orderId]);
      }
    }
    const first = await e2e.api.waitFinal(orderIds);
    const statuses = orderIds.map((id) => `${first.get(id)?.status}:${first.get(id)?.reason ?? ""}`);
    expect(statuses).toEqual([
      "confirmed:",
      "confirmed:",
      "cancelled:payment_declined",
      "confirmed:",
      "cancelled:out_of_stock",
    ]);
    const ours = new Set(orderIds);
    // Every order's two events (placed, finalized) are recorded and settled (emails, captures)
    // before the replay; the steps report to the saga's join in their own transactions.
    const eventsOf = (): RecordedEvent[] => recorder.events.filter((e) => ours.has(e.key));
    await waitFor("the pipeline events of every order", () => eventsOf().length >= orderIds.length * 2);
    await waitFor("settlements", async () => {
      const r = await readRecords(e2e.pipeline.db, orderIds);
      return r.emails.size === orderIds.length && r.heldReservations === 0;
    });
    const snapshot = async () => {
      const records = await readRecords(e2e.pipeline.db, orderIds);
      const ids = sql`(${sql.join(
        orderIds.map((id) => sql`${id}`),
        sql`, `,
      )})`;
      const counts = await e2e.pipeline.db.execute<{
        emails: number;
        payments: number;
        reservations: number;
        lines: number;
      }>(sql`
        select (select count(*)::int from emails where order_id in ${ids}) as emails,
               (select count(*)::int from payments where order_id in ${ids}) as payments,
               (select count(*)::int from stock_reservations where variant_id = ${productId}) as reservations,
               (select count(*)::int from order_lines where product_id = ${productId}) as lines`);
      return {
        orders: Object.fromEntries(records.orders),
        payments: Object.fromEntries(records.payments),
        emails: Object.fromEntries(records.emails),
        counts: counts.rows[0],
        stock: await readStock(e2e.pipeline.db, productId),
        api: await Promise.all(orderIds.map(async (id) => (await e2e.api.order(id)).status)),
      };
    };
    const before = await snapshot();
    expect(before.stock).toEqual({ available: 0, reserved: 0 });

    const events = eventsOf();
    const byTopic = (topic: string) => events.filter((e) => e.topic === topic).length;
    console.log(
      `[e2e replay] re-producing ${events.length} events: ${["order-placed", "order-finalized"].map((t) => `${t}=${byTopic(t)}`).join(" ")}`,
    );
    // Each replayed event is read by every consumer subscribed to its topic, which must skip it.
    const readers: Record<string, number> = {
      "order-placed": 3,
      "order-finalized": 3,
    };
    const expectedDuplicates = events.reduce((n, e) => n + (readers[e.topic] ?? 0), 0);
    const duplicatesBefore = e2e.pipeline.total("duplicate");
    await produceAgain(e2e.stack.kafkaBrokers.split(","), e2e.stack.kafkaTopicPrefix, events);
    await waitFor(
      `${expectedDuplicates} duplicates skipped`,
      () => e2e.pipeline.total("duplicate") - duplicatesBefore >= expectedDuplicates,
      30_000,
    );
    // No consumer dead-lettered a replay. (Applied counts are not compared: under `npm test` other
    // test projects publish to the same topics.)
    expect(e2e.pipeline.total("dead-lettered")).toBe(0);
    // Give any stray follow-up (an outbox row emitted by a replay) time to land, then compare.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await snapshot()).toEqual(before);
  });
});
