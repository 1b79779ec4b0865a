import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrape, sumOf } from "../consumers/src/test-support/prometheus.ts";
import { deadLetters } from "../db/schema/index.ts";
import { TOPICS } from "../domain/topics.ts";
import { uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { readRecords, readStock } from "./support/records.ts";

/**
 * An `order-placed` the orders consumer can never record (here Postgres refuses the row: a trigger
 * standing in for any check the order fails), while inventory holds its stock and payment authorizes
 * it: the orders consumer dead-letters it, the saga deadline cancels the order with no record, the
 * hold is released and the authorization voided, and the on-call gauge counts it. The other orders
 * flow as usual.
 */
describe("an order the orders consumer cannot record", () => {
  const e2e = useE2e({ settings: { RETRY_MAX_ATTEMPTS: "2", RETRY_MAX_DELAY_MS: "100" } });
  const refused = "unrecordable-";

  beforeAll(async () => {
    await e2e.pipeline.db.execute(sql`
      create or replace function e2e_refuse_order() returns trigger language plpgsql as $$
      begin
        if new.email like '${sql.raw(refused)}%' then
          raise exception 'the order fails a check' using errcode = '23514';
        end if;
        return new;
      end $$`);
    await e2e.pipeline.db.execute(sql`
      create or replace trigger e2e_refuse_order before insert on orders
      for each row execute function e2e_refuse_order()`);
  });
  afterAll(async () => {
    await e2e.pipeline?.db.execute(sql`drop trigger if exists e2e_refuse_order on orders`);
  });

  it("is cancelled with nothing held or authorized, and raises the alert", async () => {
    const gauge = async () =>
      sumOf(await scrape(`${e2e.pipeline.operationsUrl}/metrics`), "orders_unrecorded_dead_letters");
    const before = await gauge();
    const productId = uniqueProductId("e2e_unrecordable");
    await e2e.api.createProduct(productId, 5);

    const lost = await e2e.api.checkout(
      await e2e.api.cartWith(productId, 2),
      "tok_visa",
      randomUUID(),
      `${refused}${randomUUID().slice(0, 8)}@example.com`,
    );
    const ordinary = await e2e.api.checkout(await e2e.api.cartWith(productId, 1), "tok_visa");
    expect([lost.status, ordinary.status]).toEqual([202, 202]);
    const lostId = lost.order?.orderId ?? "";
    const ordinaryId = ordinary.order?.orderId ?? "";

    const final = await e2e.api.waitFinal([lostId, ordinaryId]);
    expect(final.get(lostId)).toMatchObject({ status: "cancelled", reason: "payment_timeout" });
    expect(final.get(ordinaryId)?.status).toBe("confirmed");

    const [letter] = await e2e.pipeline.db
      .select()
      .from(deadLetters)
      .where(and(eq(deadLetters.consumer, "orders"), eq(deadLetters.key, lostId)));
    expect(letter).toMatchObject({ topic: `${e2e.pipeline.topicPrefix}${TOPICS.orderPlaced}` });
    expect(letter?.error).toContain("the order fails a check");

    // Everything the other steps did for it is given back; the ordinary order keeps its unit.
    await expect
      .poll(async () => {
        const records = await readRecords(e2e.pipeline.db, [lostId]);
        return { payment: records.payments.get(lostId), held: records.heldReservations };
      })
      .toEqual({ payment: "voided", held: 0 });
    const records = await readRecords(e2e.pipeline.db, [lostId, ordinaryId]);
    expect(records.orders.has(lostId)).toBe(false);
    expect(records.emails.get(lostId)).toBeUndefined();
    expect(records.payments.get(ordinaryId)).toBe("captured");
    expect(await readStock(e2e.pipeline.db, productId)).toEqual({ available: 4, reserved: 0 });
    await expect.poll(async () => (await e2e.api.stock(productId)).available).toBe(4);
    expect(await gauge()).toBe(before + 1);
  });
});
