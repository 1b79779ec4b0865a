import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { cartSnapshots } from "../../../db/schema/index.ts";
import type { CartUpdated } from "../../../domain/events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { waitUntil } from "../test-support/kafka.ts";
import { countProcessed } from "../test-support/probe-consumer.ts";
import { cartPersistenceConsumer } from "./index.ts";

const t = useConsumerTest({ topics: [TOPICS.cartUpdated], def: cartPersistenceConsumer });
const { topicPrefix, db } = t;

const newCartId = (): string => `cart_${randomUUID().replaceAll("-", "")}`;
const at = (second: number): string => new Date(Date.UTC(2026, 10, 27, 12, 0, second)).toISOString();
const update = (
  cartId: string,
  second: number,
  items: CartUpdated["items"],
  deleted?: boolean,
): CartUpdated => ({
  eventId: randomUUID(),
  cartId,
  items,
  updatedAt: at(second),
  ...(deleted === undefined ? {} : { deleted }),
});

/** Sends the events in this order (one key, so one partition) and waits until all are handled. */
const deliver = async (events: CartUpdated[]): Promise<void> => {
  await t.producer.send(
    events.map((e) => ({ topic: `${topicPrefix}${TOPICS.cartUpdated}`, key: e.cartId, value: e })),
  );
  const ids = events.map((e) => e.eventId);
  await waitUntil(
    "the cart events",
    async () => (await countProcessed(db, "cart-persistence", ids)) === ids.length,
  );
};

const snapshot = async (cartId: string) => {
  const [row] = await db.select().from(cartSnapshots).where(eq(cartSnapshots.cartId, cartId));
  return row;
};

describe("cart-persistence consumer", () => {
  it("keeps the newest copy of a cart when events arrive out of order", async () => {
    const cartId = newCartId();
    const newest = update(cartId, 30, [{ productId: "prod_0000003", qty: 3 }]);
    await deliver([
      update(cartId, 10, [{ productId: "prod_0000001", qty: 1 }]),
      newest,
      update(cartId, 20, [{ productId: "prod_0000002", qty: 2 }]),
    ]);
    expect(await snapshot(cartId)).toMatchObject({
      items: [{ productId: "prod_0000003", qty: 3 }],
      updatedAt: new Date(at(30)),
      deleted: false,
      eventId: newest.eventId,
    });
  });

  it("turns a deleted cart into a tombstone that no update brings back", async () => {
    const cartId = newCartId();
    const removal = update(cartId, 20, [{ productId: "prod_0000001", qty: 1 }], true);
    await deliver([update(cartId, 10, [{ productId: "prod_0000001", qty: 1 }]), removal]);
    expect(await snapshot(cartId)).toMatchObject({ items: [], deleted: true, eventId: removal.eventId });

    await deliver([update(cartId, 5, [{ productId: "prod_0000002", qty: 2 }]), update(cartId, 40, [])]);
    expect(await snapshot(cartId)).toMatchObject({ items: [], deleted: true, eventId: removal.eventId });
  });

  it("stores a tombstone for a cart deleted before any copy existed", async () => {
    const cartId = newCartId();
    await deliver([update(cartId, 10, [{ productId: "prod_0000001", qty: 4 }], true)]);
    expect(await snapshot(cartId)).toMatchObject({ items: [], deleted: true, updatedAt: new Date(at(10)) });
  });
});
