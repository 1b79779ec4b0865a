import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { payments } from "../../../db/schema/index.ts";
import { connectTestDb, runTaskOnce } from "../test-support/handler-harness.ts";
import { progressOf, readPayment, stepsOf } from "../test-support/order-fixtures.ts";
import {
  createPaymentConsumer,
  createSimulatedProcessor,
  type PaymentProcessor,
  THREE_D_SECURE_TOKEN,
} from "./index.ts";
import { RECONCILE_TASK } from "./reconciliation.ts";

/**
 * Reconciliation against the real Postgres, with the simulated processor holding what the payment
 * step never recorded. The rows are made a month old and reconciliation looks only at rows older than
 * four weeks, so rows of other tests running meanwhile are never touched.
 */
const { db, pool } = connectTestDb();
afterAll(() => pool.end());

const MONTH_AGO = new Date(Date.now() - 30 * 86_400_000);
const AFTER_MS = 28 * 86_400_000;

const setup = () => {
  const simulator = createSimulatedProcessor();
  const lookups: string[] = [];
  const processor: PaymentProcessor = {
    ...simulator,
    lookup: (payment) => {
      lookups.push(payment.orderId);
      return simulator.lookup(payment);
    },
  };
  const consumer = createPaymentConsumer({ processor, reconcile: { afterMs: AFTER_MS, intervalMs: 1_000 } });
  return { simulator, lookups, pass: () => runTaskOnce(db, consumer, RECONCILE_TASK) };
};

const orderId = () => `ord_${randomUUID().replaceAll("-", "")}`;
const payment = (id: string, status: "requested" | "voided", updatedAt = MONTH_AGO) =>
  db.insert(payments).values({
    orderId: id,
    status,
    amountCents: 4_200,
    currency: "USD",
    requestedAt: updatedAt,
    updatedAt,
  });
/** The processor authorizes the order without the payment step learning it (an answer lost). */
const authorizedBehindOurBack = (simulator: ReturnType<typeof createSimulatedProcessor>, id: string) =>
  simulator.authorize({ orderId: id, amountCents: 4_200, currency: "USD", token: "tok_visa" });

describe("payment reconciliation", () => {
  it("voids an authorization a cancellation never reached, and records its reference", async () => {
    const { simulator, lookups, pass } = setup();
    const id = orderId();
    const auth = await authorizedBehindOurBack(simulator, id);
    await payment(id, "voided");
    await pass();
    expect(simulator.stateOf(id)).toBe("voided");
    expect(await readPayment(db, id)).toMatchObject({
      status: "voided",
      processorRef: auth.status === "authorized" ? auth.ref : "?",
      reconciledAt: expect.any(Date),
    });
    // Reconciled once: a later pass does not ask again.
    await pass();
    expect(lookups.filter((l) => l === id)).toHaveLength(1);
  });

  it("records the answer of an authorization the payment step never received, and reports it", async () => {
    const { simulator, pass } = setup();
    const id = orderId();
    await authorizedBehindOurBack(simulator, id);
    await payment(id, "requested");
    await pass();
    expect(await readPayment(db, id)).toMatchObject({
      status: "authorized",
      processorRef: expect.any(String),
    });
    expect(await stepsOf(db, id)).toEqual({ payment: "authorized" });
    const reported = await progressOf(db, id);
    await pass();
    // Reported once: the next pass did not touch the progress record.
    expect((await progressOf(db, id))?.updatedAt).toEqual(reported?.updatedAt);
  });

  it("asks again later about a request the processor has no record of; marks a void with nothing held as done", async () => {
    const { simulator, lookups, pass } = setup();
    const unknown = orderId();
    const voidedNothing = orderId();
    await payment(unknown, "requested");
    await payment(voidedNothing, "voided");
    await pass();
    expect(await readPayment(db, unknown)).toMatchObject({ status: "requested", reconciledAt: null });
    expect(await readPayment(db, voidedNothing)).toMatchObject({
      status: "voided",
      reconciledAt: expect.any(Date),
    });
    expect(simulator.stateOf(voidedNothing)).toBeUndefined();
    await pass();
    expect(lookups.filter((l) => l === unknown)).toHaveLength(2);
    expect(lookups.filter((l) => l === voidedNothing)).toHaveLength(1);
  });

  it("leaves recent payments to the payment step", async () => {
    const { simulator, lookups, pass } = setup();
    const id = orderId();
    await authorizedBehindOurBack(simulator, id);
    await payment(id, "voided", new Date());
    await pass();
    expect(lookups).not.toContain(id);
    expect(simulator.stateOf(id)).toBe("authorized");
  });

  it("records the outcome of a 3-D Secure step no processor event told of", async () => {
    const { simulator, pass } = setup();
    const id = orderId();
    const waiting = await simulator.authorize({
      orderId: id,
      amountCents: 4_200,
      currency: "USD",
      token: THREE_D_SECURE_TOKEN,
    });
    await db.insert(payments).values({
      orderId: id,
      status: "requires_action",
      amountCents: 4_200,
      currency: "USD",
      processorRef: waiting.status === "requires_action" ? waiting.ref : null,
      actionRequestedAt: MONTH_AGO,
      requestedAt: MONTH_AGO,
      updatedAt: MONTH_AGO,
    });
    await pass();
    expect(await readPayment(db, id)).toMatchObject({ status: "requires_action" }); // not finished yet
    simulator.completeAction(id, true);
    await pass();
    expect(await readPayment(db, id)).toMatchObject({ status: "authorized" });
    expect(await stepsOf(db, id)).toEqual({ payment: "authorized" });
  });
});
