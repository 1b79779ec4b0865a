import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { emails } from "../../../db/schema/index.ts";
import type { OrderFinalized } from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { recordOrder } from "../orders/store.ts";
import { DLQ_HEADERS } from "../runtime/dead-letter.ts";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { readTopic, waitUntil } from "../test-support/kafka.ts";
import { readMime } from "../test-support/mime.ts";
import { samplePlacedOrder } from "../test-support/placed-order.ts";
import { countProcessed } from "../test-support/probe-consumer.ts";
import { createEmailConsumer } from "./index.ts";

const t = useConsumerTest({
  topics: [TOPICS.orderFinalized, TOPICS.orderShipped],
  def: createEmailConsumer({ from: "Test Shop <shop@test.example>" }),
  options: { retry: { maxAttempts: 2, initialMs: 10, maxMs: 20 } },
});
const { topicPrefix, db } = t;
const FINALIZED = `${topicPrefix}${TOPICS.orderFinalized}`;
const SHIPPED = `${topicPrefix}${TOPICS.orderShipped}`;

/** An order in Postgres, written by the orders consumer's own store function. */
const placeOrder = async (): Promise<string> => {
  const placed = samplePlacedOrder();
  await db.transaction((tx) => recordOrder(tx, placed));
  return placed.orderId;
};

const finalized = (orderId: string, outcome: "confirmed" | "payment_declined"): OrderFinalized => {
  const base = { eventId: randomUUID(), orderId, finalizedAt: new Date().toISOString() };
  return outcome === "confirmed"
    ? { ...base, status: "confirmed" }
    : { ...base, status: "cancelled", reason: outcome };
};

const send = (events: OrderFinalized[]) =>
  t.producer.send(events.map((e) => ({ topic: FINALIZED, key: e.orderId, value: e })));
const emailsOf = (orderId: string) => db.select().from(emails).where(eq(emails.orderId, orderId));

describe("email consumer", () => {
  it("stores exactly one confirmation email per order, however often the order is finalized", async () => {
    const orderId = await placeOrder();
    const event = finalized(orderId, "confirmed");
    const second = finalized(orderId, "confirmed"); // a second finalization, another event id
    await send([event, event, second]);
    await waitUntil(
      "both finalizations",
      async () => (await countProcessed(db, "email", [event.eventId, second.eventId])) === 2,
    );

    const stored = await emailsOf(orderId);
    expect(stored).toHaveLength(1);
    const [email] = stored;
    expect(email).toMatchObject({
      kind: "order_confirmed",
      toAddress: "ada@example.com",
      subject: `Your order ${orderId} is confirmed`,
      messageId: `<order_confirmed.${orderId}@test.example>`,
      sentAt: null,
    });
    // The body is the real MIME message nodemailer rendered.
    const mime = readMime(email?.body ?? "");
    expect(mime.headers).toContain("From: Test Shop <shop@test.example>\r\n");
    expect(mime.headers).toContain("To: ada@example.com\r\n");
    expect(mime.headers).toContain(`Subject: Your order ${orderId} is confirmed\r\n`);
    expect(mime.headers).toContain(`Message-ID: <order_confirmed.${orderId}@test.example>\r\n`);
    expect(mime.headers).toContain("Content-Type: multipart/alternative");
    expect(mime.body).toContain(`Thank you for your order ${orderId}.`);
    expect(mime.body).toContain("2 x Copper kettle (SKU-0000001): $25.00");
    expect(mime.body).toContain("Total: $32.99");
  });

  it("sends a cancellation with its reason instead when the order was cancelled", async () => {
    const orderId = await placeOrder();
    await send([finalized(orderId, "payment_declined")]);
    await waitUntil("the cancellation email", async () => (await emailsOf(orderId)).length === 1);
    const [email] = await emailsOf(orderId);
    expect(email?.kind).toBe("order_cancelled");
    expect(email?.subject).toBe(`Your order ${orderId} was cancelled`);
    const mime = readMime(email?.body ?? "");
    expect(mime.body).toContain(`your order ${orderId} was cancelled because the payment was declined`);
    expect(mime.body).toContain("Total (not charged): $32.99");
  });

  it("a merchant's cancellation after the confirmation: one cancellation email more, never two", async () => {
    const orderId = await placeOrder();
    const base = { orderId, finalizedAt: new Date().toISOString() };
    const byMerchant = {
      ...base,
      eventId: randomUUID(),
      status: "cancelled" as const,
      reason: "cancelled_by_merchant" as const,
    };
    await send([finalized(orderId, "confirmed"), byMerchant, { ...byMerchant, eventId: randomUUID() }]);
    await waitUntil(
      "both emails",
      async () =>
        (await countProcessed(db, "email", [byMerchant.eventId])) === 1 &&
        (await emailsOf(orderId)).length === 2,
    );
    const stored = await emailsOf(orderId);
    expect(stored.map((e) => e.kind).sort()).toEqual(["order_cancelled", "order_confirmed"]);
    const cancellation = readMime(stored.find((e) => e.kind === "order_cancelled")?.body ?? "");
    expect(cancellation.body).toContain("because the store cancelled it");
    expect(cancellation.body).toContain("refunded in full");
  });

  it("stores one shipping email with the tracking number, however often the shipment is announced", async () => {
    const orderId = await placeOrder();
    const shipment = {
      carrier: "SimPost",
      trackingNumber: "SPTRACK0001",
      shippedAt: new Date().toISOString(),
    };
    const shipped = { eventId: randomUUID(), orderId, shipment };
    const again = { ...shipped, eventId: randomUUID() };
    await t.producer.send([shipped, shipped, again].map((e) => ({ topic: SHIPPED, key: orderId, value: e })));
    await waitUntil(
      "both announcements",
      async () => (await countProcessed(db, "email", [shipped.eventId, again.eventId])) === 2,
    );
    const stored = await emailsOf(orderId);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ kind: "order_shipped", subject: `Your order ${orderId} has shipped` });
    const mime = readMime(stored[0]?.body ?? "");
    expect(mime.body).toContain("Tracking number: SPTRACK0001");
    expect(mime.body).toContain("on its way with SimPost");
  });

  it("dead-letters the finalization of an order that is not in Postgres", async () => {
    const ghost = finalized(`ord_ghost_${randomUUID().slice(0, 8)}`, "confirmed");
    await send([ghost]);
    const letters = await readTopic(`${FINALIZED}.dlq`, (ms) => ms.some((m) => m.key === ghost.orderId));
    const letter = letters.find((m) => m.key === ghost.orderId);
    expect(letter?.headers[DLQ_HEADERS.error]).toContain(`order ${ghost.orderId} is not in Postgres`);
    expect(await emailsOf(ghost.orderId)).toHaveLength(0);
  });
});
