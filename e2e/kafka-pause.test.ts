import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { brokerPid } from "../local/kafka/broker.ts";
import { kafkaProcesses } from "../local/kafka/process.ts";
import { type CheckoutAnswer, uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";

/**
 * The local broker's process: the one this checkout's stack started, else the one broker running on
 * this machine (a stack that reused another checkout's broker). A remote cluster cannot be paused.
 */
const pausableBroker = async (): Promise<number> => {
  const pid = (await brokerPid()) ?? (kafkaProcesses().length === 1 ? kafkaProcesses()[0] : undefined);
  if (pid === undefined)
    throw new Error("this drill pauses the local Kafka broker, and none (or several) run here");
  return pid;
};

/**
 * A Kafka broker that stalls (SIGSTOP) while a shopper checks out: checkout's publish misses its
 * deadline (ORDER_PUBLISH_TIMEOUT_MS, 4 s), answers 503, and the message may still land when the
 * broker comes back. The shopper's app retries with the same Idempotency-Key, as the contract tells
 * it to, and gets 202 with that order (whether it had landed or is published now); a click with a new
 * key learns the order's id. Whatever the timing, the cart gives exactly one order.
 */
describe("Kafka broker paused during a checkout", () => {
  const e2e = useE2e();
  let resume: (() => void) | undefined;
  afterEach(() => resume?.());

  it.each([4_500, 6_000, 9_000])(
    "paused %i ms, then the same key again: 202 with that one order",
    async (pauseMs) => {
      const productId = uniqueProductId("e2e_pause");
      await e2e.api.createProduct(productId, 5);
      const cartId = await e2e.api.cartWith(productId, 2);

      const pid = await pausableBroker();
      process.kill(pid, "SIGSTOP");
      let paused = true;
      resume = () => {
        if (paused) process.kill(pid, "SIGCONT");
        paused = false;
      };
      const resumed = new Promise<void>((done) => setTimeout(() => done(resume?.()), pauseMs));
      const key = randomUUID();
      const started = Date.now();
      const first = await e2e.api.checkout(cartId, "tok_visa", key);
      const answeredMs = Date.now() - started;
      await resumed;

      // The first answer either accepted the order or said it may have landed, naming it.
      const firstId = first.order?.orderId ?? String(first.error?.details?.orderId ?? "");
      expect(first.status === 202 || first.error?.code === "order_queue_unavailable").toBe(true);
      expect(firstId).toMatch(/^ord_/);
      expect(answeredMs).toBeLessThan(pauseMs + 5_000);

      // The same key after the broker is back: 202 with the same order, landed late or published now.
      let retry: CheckoutAnswer = { status: 0 };
      await expect
        .poll(
          async () => {
            retry = await e2e.api.checkout(cartId, "tok_visa", key);
            return retry.status;
          },
          { timeout: 60_000, interval: 500 },
        )
        .toBe(202);
      expect(retry.order?.orderId).toBe(firstId);
      // A new click (new key) learns which order the cart placed.
      const other = await e2e.api.checkout(cartId, "tok_visa");
      expect(other.error).toMatchObject({ code: "cart_empty", details: { lastOrderId: firstId } });

      const final = await e2e.api.waitFinal([firstId]);
      expect(final.get(firstId)?.status).toBe("confirmed");
      const orders = await e2e.pipeline.pool.query<{ order_id: string }>(
        "select order_id from orders where cart_id = $1",
        [cartId],
      );
      expect(orders.rows).toEqual([{ order_id: firstId }]);
      await expect
        .poll(() => e2e.api.stock(productId), { timeout: 20_000 })
        .toMatchObject({ available: 3, reserved: 0 });
    },
  );
});
