import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { orderProgress } from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import { ORDER_STATUS_TTL_SECONDS, orderStatusKey, pendingOrder } from "../../../domain/orders.ts";
import { TOPICS } from "../../../domain/topics.ts";
import {
  createOrderStateConsumer,
  createRedisOrderStatusCache,
  type OrderStep,
} from "../order-state/index.ts";
import { connectTestServices, inTransaction } from "../test-support/handler-harness.ts";
import {
  insertPendingOrder,
  orderPlacedEvent,
  outboxFor,
  readOrder,
  writePendingRecord,
} from "../test-support/order-fixtures.ts";
import { reportStep, reportWaitingForShopper } from "./join.ts";

const { db, redis } = connectTestServices();
/** The saga's home process, which applies the status rewrites the join records. */
const home = createOrderStateConsumer({ statusCache: createRedisOrderStatusCache(redis) });

type Step = "recorded" | "inventory" | "payment";
interface Scenario {
  inventory?: "reserved" | "rejected";
  payment?: "authorized" | "declined";
}

/** An order placed by checkout (row in Postgres, record in Redis) and its three steps' reports. */
const newOrder = async (scenario: Scenario = {}) => {
  const placed: OrderPlaced = orderPlacedEvent([{ productId: "p1", qty: 1 }]);
  await insertPendingOrder(db, placed);
  await writePendingRecord(redis, placed);
  const { orderId } = placed;
  const inventory = scenario.inventory ?? "reserved";
  const payment = scenario.payment ?? "authorized";
  const outcomes = { recorded: "recorded", inventory, payment } as const;
  const send = (step: Step) =>
    inTransaction(
      db,
      async (ctx) => reportStep(ctx, { orderId, step, outcome: outcomes[step] } as OrderStep),
      home,
    );
  const redisRecord = async (): Promise<unknown> =>
    JSON.parse((await redis.get(orderStatusKey(orderId))) ?? "null");
  return { placed, orderId, send, redisRecord };
};

const permutations = <T>(items: readonly T[]): T[][] =>
  items.length <= 1
    ? [[...items]]
    : items.flatMap((item, i) =>
        permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
      );

describe("the saga's join", () => {
  it.each(permutations<Step>(["recorded", "inventory", "payment"]))(
    "finalizes exactly once when the steps report as %s, %s, %s",
    async (...order: Step[]) => {
      const { orderId, send, redisRecord, placed } = await newOrder();
      const emittedPerStep: number[] = [];
      for (const step of order) emittedPerStep.push((await send(step)).emitted.length);
      expect(emittedPerStep).toEqual([0, 0, 1]);

      const finalized = await outboxFor(db, orderId, TOPICS.orderFinalized);
      expect(finalized.map((e) => e.payload)).toEqual([
        { eventId: expect.any(String), orderId, status: "confirmed", finalizedAt: expect.any(String) },
      ]);
      const finalizedAt = String(finalized[0]?.payload.finalizedAt);
      expect(await readOrder(db, orderId)).toMatchObject({
        status: "confirmed",
        reason: null,
        updatedAt: new Date(finalizedAt),
      });
      expect(await redisRecord()).toEqual({
        ...pendingOrder(placed),
        status: "confirmed",
        updatedAt: finalizedAt,
      });
    },
  );

  it("finalizes exactly once when the three steps report in parallel transactions", async () => {
    const orders = await Promise.all(Array.from({ length: 20 }, () => newOrder()));
    await Promise.all(orders.flatMap(({ send }) => [send("recorded"), send("inventory"), send("payment")]));
    for (const { orderId } of orders) {
      expect(await outboxFor(db, orderId, TOPICS.orderFinalized)).toHaveLength(1);
      expect((await readOrder(db, orderId))?.status).toBe("confirmed");
    }
  });

  it("cancels for missing stock, or for a declined payment, and says so in Redis", async () => {
    const noStock = await newOrder({ inventory: "rejected", payment: "declined" });
    const declined = await newOrder({ payment: "declined" });
    for (const { send } of [noStock, declined])
      for (const step of ["payment", "inventory", "recorded"] as const) await send(step);
    expect(await readOrder(db, noStock.orderId)).toMatchObject({
      status: "cancelled",
      reason: "out_of_stock",
    });
    expect(await readOrder(db, declined.orderId)).toMatchObject({
      status: "cancelled",
      reason: "payment_declined",
    });
    expect(await noStock.redisRecord()).toMatchObject({ status: "cancelled", reason: "out_of_stock" });
    expect(await declined.redisRecord()).toMatchObject({ status: "cancelled", reason: "payment_declined" });
  });

  it("shows an order waiting for the shopper as requires_action with its client secret, never over a final state", async () => {
    const { orderId, send, redisRecord } = await newOrder();
    const actionRequired = (clientSecret: string) =>
      inTransaction(db, async (ctx) => reportWaitingForShopper(ctx, orderId, { clientSecret }), home);
    const { emitted } = await actionRequired("pi_1_secret_a");
    expect(emitted).toEqual([]); // not a step's outcome: nothing is decided
    expect(await redisRecord()).toMatchObject({
      status: "requires_action",
      payment: { clientSecret: "pi_1_secret_a" },
    });
    expect(await readOrder(db, orderId)).toMatchObject({ status: "pending" });

    for (const step of ["recorded", "inventory", "payment"] as const) await send(step);
    const final = await redisRecord();
    expect(final).toMatchObject({ status: "confirmed" });
    expect(final).not.toHaveProperty("payment");
    // A late (replayed) announcement leaves the confirmed record as it is.
    await actionRequired("pi_1_secret_a");
    expect(await redisRecord()).toEqual(final);
  });

  it("changes nothing on reports repeated after the order is final", async () => {
    const { orderId, send } = await newOrder();
    for (const step of ["recorded", "inventory", "payment"] as const) await send(step);
    const [before] = await db.select().from(orderProgress).where(eq(orderProgress.orderId, orderId));
    for (const step of ["recorded", "inventory", "payment"] as const)
      expect((await send(step)).emitted).toEqual([]);
    expect(await outboxFor(db, orderId, TOPICS.orderFinalized)).toHaveLength(1);
    const [after] = await db.select().from(orderProgress).where(eq(orderProgress.orderId, orderId));
    expect(after?.finalizedAt).toEqual(before?.finalizedAt);
  });

  it("keeps the first result of a step and announces the final state again when a late one contradicts it", async () => {
    const rejectedFirst = await newOrder({ inventory: "rejected" });
    for (const step of ["recorded", "inventory", "payment"] as const) await rejectedFirst.send(step);
    const late = await inTransaction(
      db,
      async (ctx) =>
        reportStep(ctx, { orderId: rejectedFirst.orderId, step: "inventory", outcome: "reserved" }),
      home,
    );
    expect(late.emitted.map((e) => e.payload)).toEqual([
      expect.objectContaining({ status: "cancelled", reason: "out_of_stock" }),
    ]);
    expect(await readOrder(db, rejectedFirst.orderId)).toMatchObject({
      status: "cancelled",
      reason: "out_of_stock",
    });
  });

  it("writes the final record from Postgres when checkout's pending record is not there yet", async () => {
    const { orderId, send, redisRecord, placed } = await newOrder({ payment: "declined" });
    await redis.del(orderStatusKey(orderId));
    for (const step of ["recorded", "inventory", "payment"] as const) await send(step);
    const [finalized] = await outboxFor(db, orderId, TOPICS.orderFinalized);
    expect(await redisRecord()).toEqual({
      ...pendingOrder(placed),
      status: "cancelled",
      reason: "payment_declined",
      updatedAt: finalized?.payload.finalizedAt,
    });
    expect(await redis.ttl(orderStatusKey(orderId))).toBeGreaterThan(ORDER_STATUS_TTL_SECONDS - 60);
  });
});
