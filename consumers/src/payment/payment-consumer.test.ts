import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import type { OrderPlaced } from "../../../domain/events.ts";
import type { OrderFinalized } from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { connectTestDb, deliver, inTransaction } from "../test-support/handler-harness.ts";
import { orderPlacedEvent, progressOf, readPayment, stepsOf } from "../test-support/order-fixtures.ts";
import {
  createPaymentConsumer,
  createSimulatedProcessor,
  type SimulatedProcessor,
  THREE_D_SECURE_TOKEN,
} from "./index.ts";
import { type AuthorizationAnswer, requestAuthorization, settleAuthorizations } from "./payment-steps.ts";
import type { AuthorizeResult } from "./processor.ts";

const { db, pool } = connectTestDb();
afterAll(() => pool.end());

const setup = (processor: SimulatedProcessor = createSimulatedProcessor()) => {
  const consumer = createPaymentConsumer({ processor });
  return {
    processor,
    place: (event: OrderPlaced) => deliver(db, consumer, TOPICS.orderPlaced, event),
    /** The processor's word about the order (a webhook, the simulator's action outcome). */
    notify: (orderId: string, eventId = `evt_${randomUUID()}`) =>
      deliver(db, consumer, TOPICS.paymentEvents, { eventId, orderId, source: "simulator", type: "any" }),
    finalize: (orderId: string, status: "confirmed" | "cancelled") => {
      const base = { eventId: randomUUID(), orderId, finalizedAt: new Date().toISOString() };
      const event: OrderFinalized =
        status === "confirmed" ? { ...base, status } : { ...base, status, reason: "out_of_stock" };
      return deliver(db, consumer, TOPICS.orderFinalized, event);
    },
  };
};
const order = (paymentToken = "tok_visa") =>
  orderPlacedEvent([{ productId: "p1", qty: 2, unitPriceCents: 1999 }], { paymentToken });

describe("payment consumer", () => {
  it("authorizes the subtotal, records it and reports authorized", async () => {
    const { place, processor } = setup();
    const placed = order();
    await place(placed);
    expect(await stepsOf(db, placed.orderId)).toEqual({ payment: "authorized" });
    expect(await readPayment(db, placed.orderId)).toMatchObject({
      status: "authorized",
      amountCents: 3998,
      currency: "USD",
      processorRef: expect.stringMatching(/^sim_auth_/),
    });
    expect(processor.authorizationsOf(placed.orderId)).toBe(1);
  });

  it("records a decline and reports declined", async () => {
    const { place } = setup();
    const placed = order("tok_chargeDeclined");
    await place(placed);
    expect(await stepsOf(db, placed.orderId)).toEqual({ payment: "declined" });
    expect(await readPayment(db, placed.orderId)).toMatchObject({
      status: "declined",
      declineCode: "card_declined",
    });
  });

  it("authorizes once on replays with the same or a new event id, and reports once", async () => {
    const { place, processor } = setup();
    const placed = order();
    await place(placed);
    const reported = await progressOf(db, placed.orderId);
    expect(await place(placed)).toEqual({ applied: false, emitted: [] });
    expect(await place({ ...placed, eventId: randomUUID() })).toEqual({ applied: true, emitted: [] });
    await Promise.all([1, 2, 3].map(() => place({ ...placed, eventId: randomUUID() })));
    expect(processor.authorizationsOf(placed.orderId)).toBe(1);
    // Reported once: the replays did not touch the progress record.
    expect((await progressOf(db, placed.orderId))?.updatedAt).toEqual(reported?.updatedAt);
  });

  it("never charges twice when the processor fails transiently and the event is retried", async () => {
    // Attempt 1 fails after the processor authorized (a lost answer), attempt 2 before, attempt 3 works.
    const draws = [0.1, 0.9, 0.1, 0.1, 0.9, 0.9];
    const processor = createSimulatedProcessor({ failureRate: 0.5, random: () => draws.shift() ?? 0.9 });
    const { place } = setup(processor);
    const placed = order();
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        await place(placed);
        break;
      } catch (error) {
        expect(error).toMatchObject({ transient: true });
        // Asked for, answer unknown: the row says so (and the deadline counts from its first ask).
        expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "requested" });
      }
    }
    expect(attempts).toBe(3);
    expect(processor.authorizationsOf(placed.orderId)).toBe(1);
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "authorized" });
    expect(await stepsOf(db, placed.orderId)).toEqual({ payment: "authorized" });
  });

  it("captures a confirmed order once", async () => {
    const { place, finalize, processor } = setup();
    const placed = order();
    await place(placed);
    await finalize(placed.orderId, "confirmed");
    await finalize(placed.orderId, "confirmed");
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "captured" });
    expect(processor.stateOf(placed.orderId)).toBe("captured");
  });

  it("voids the authorization of a cancelled order once (compensation)", async () => {
    const { place, finalize, processor } = setup();
    const placed = order();
    await place(placed);
    await finalize(placed.orderId, "cancelled");
    await finalize(placed.orderId, "cancelled");
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "voided" });
    expect(processor.stateOf(placed.orderId)).toBe("voided");
  });

  it("has nothing to void for a declined or an unknown payment", async () => {
    const { place, finalize } = setup();
    const declined = order("tok_chargeDeclined");
    await place(declined);
    await expect(finalize(declined.orderId, "cancelled")).resolves.toMatchObject({ applied: true });
    await expect(finalize("ord_without_payment", "cancelled")).resolves.toMatchObject({ applied: true });
    expect(await readPayment(db, declined.orderId)).toMatchObject({ status: "declined" });
    expect(await readPayment(db, "ord_without_payment")).toBeUndefined();
  });

  it("voids an authorization whose answer was lost, and voids it again if the answer says authorized later", async () => {
    // The processor authorizes, then the answer is lost (a timeout after the effect).
    const draws = [0.1, 0.9];
    const processor = createSimulatedProcessor({ failureRate: 0.5, random: () => draws.shift() ?? 0.9 });
    const { place, finalize } = setup(processor);
    const placed = order();
    await expect(place(placed)).rejects.toMatchObject({ transient: true });
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "requested" });
    expect(processor.stateOf(placed.orderId)).toBe("authorized");

    // The saga cancels the order before the retry: the compensation voids at the processor all the
    // same (the authorization may exist: here it does).
    await finalize(placed.orderId, "cancelled");
    expect(processor.stateOf(placed.orderId)).toBe("voided");
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "voided", processorRef: null });

    // The parked authorization is retried: its answer (authorized, the same one) is recorded and
    // reported, so the saga's join announces the cancellation again (join.test.ts), which voids it
    // again (a no-op here).
    await place({ ...placed, eventId: randomUUID() });
    expect(await stepsOf(db, placed.orderId)).toEqual({ payment: "authorized" });
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "authorized" });
    await finalize(placed.orderId, "cancelled");
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "voided" });
    expect(processor.authorizationsOf(placed.orderId)).toBe(1);
    // Once the answer is known, nothing asks the processor again.
    expect(await place({ ...placed, eventId: randomUUID() })).toEqual({ applied: true, emitted: [] });
    expect(processor.authorizationsOf(placed.orderId)).toBe(1);
  });

  it("refuses to capture a payment that was not authorized (the event goes to the dead letters)", async () => {
    const { place, finalize } = setup();
    const declined = order("tok_chargeDeclined");
    await place(declined);
    await expect(finalize(declined.orderId, "confirmed")).rejects.toThrow(/payment is declined/);
  });

  it("waits for the shopper's 3-D Secure step, then records and reports its outcome once", async () => {
    const { place, notify, finalize, processor } = setup();
    const placed = order(THREE_D_SECURE_TOKEN);
    await place(placed);
    // Not an outcome: nothing reported yet (the status record shows the step; join.test.ts).
    expect(await stepsOf(db, placed.orderId)).toEqual({});
    expect(await readPayment(db, placed.orderId)).toMatchObject({
      status: "requires_action",
      clientSecret: expect.stringMatching(/_secret_/),
      actionRequestedAt: expect.any(Date),
    });
    // An event before the shopper finished changes nothing.
    await notify(placed.orderId);
    expect(await stepsOf(db, placed.orderId)).toEqual({});

    processor.completeAction(placed.orderId, true);
    const eventId = `evt_${randomUUID()}`;
    await notify(placed.orderId, eventId);
    expect(await stepsOf(db, placed.orderId)).toEqual({ payment: "authorized" });
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "authorized" });
    const reported = await progressOf(db, placed.orderId);
    // The same event again, another event, a replay of the order: nothing more.
    expect(await notify(placed.orderId, eventId)).toEqual({ applied: false, emitted: [] });
    await notify(placed.orderId);
    await place({ ...placed, eventId: randomUUID() });
    expect((await progressOf(db, placed.orderId))?.updatedAt).toEqual(reported?.updatedAt);
    await finalize(placed.orderId, "confirmed");
    expect(processor.stateOf(placed.orderId)).toBe("captured");
  });

  it("declines when the shopper fails the step, and cancels a payment still waiting when its order is cancelled", async () => {
    const { place, notify, finalize, processor } = setup();
    const failed = order(THREE_D_SECURE_TOKEN);
    await place(failed);
    processor.completeAction(failed.orderId, false);
    await notify(failed.orderId);
    expect(await stepsOf(db, failed.orderId)).toEqual({ payment: "declined" });
    expect(await readPayment(db, failed.orderId)).toMatchObject({
      status: "declined",
      declineCode: "payment_intent_authentication_failure",
    });

    const abandoned = order(THREE_D_SECURE_TOKEN);
    await place(abandoned);
    await finalize(abandoned.orderId, "cancelled");
    expect(processor.stateOf(abandoned.orderId)).toBe("voided");
    expect(await readPayment(db, abandoned.orderId)).toMatchObject({ status: "voided" });
    expect(processor.completeAction(abandoned.orderId, true)).toBe(false);
  });

  it("marks, reads and records the payments of orders asked about together, each as it is", async () => {
    const { place, processor } = setup();
    const answered = order();
    await place(answered);
    const [fresh, declined] = [order(), order("tok_chargeDeclined")];
    // Side by side, as the prepare steps of a lane's batch run: one statement marks them all.
    const results = await Promise.all(
      [fresh, answered, declined, fresh].map((o) => requestAuthorization(db, processor, o)),
    );
    expect(results.map((r) => r?.status ?? null)).toEqual(["authorized", null, "declined", "authorized"]);
    expect(processor.authorizationsOf(answered.orderId)).toBe(1);
    expect(await readPayment(db, fresh.orderId)).toMatchObject({ status: "requested" });

    const answer = (o: OrderPlaced, result: AuthorizeResult | null | undefined): AuthorizationAnswer => {
      if (!result) throw new Error(`no answer for ${o.orderId}`);
      return { order: o, result };
    };
    const [first, , decline, second] = results;
    // One statement records them; the order answered twice is recorded (and reported) once.
    await inTransaction(db, async (ctx) => {
      const answers = [answer(fresh, first), answer(declined, decline), answer(fresh, second)];
      expect(await settleAuthorizations(ctx, answers)).toEqual([true, true, false]);
    });
    expect(await readPayment(db, fresh.orderId)).toMatchObject({ status: "authorized" });
    expect(await readPayment(db, declined.orderId)).toMatchObject({ status: "declined" });
    expect(await stepsOf(db, fresh.orderId)).toEqual({ payment: "authorized" });
    expect(await stepsOf(db, declined.orderId)).toEqual({ payment: "declined" });
  });
});
