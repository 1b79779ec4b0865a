import { describe, expect, it } from "vitest";
import { type Sample, scrape, sumOf } from "../consumers/src/test-support/prometheus.ts";
import { TOPICS } from "../domain/topics.ts";
import { uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";

/** Issue 13: what an operator sees on /metrics while a checkout goes through the whole pipeline. */
describe("the consumers' and Kafka REST's /metrics during a checkout", () => {
  const e2e = useE2e();

  it("move: the publish on Kafka REST, every consumer's applied events, and lag back to 0", async () => {
    const consumers = () => scrape(`${e2e.pipeline.operationsUrl}/metrics`);
    const kafkaRest = () =>
      scrape(`${e2e.stack.kafkaRestUrl}/metrics`, {
        headers: {
          authorization: `Basic ${Buffer.from(`${e2e.stack.kafkaRestOpsUsername}:${e2e.stack.kafkaRestOpsPassword}`).toString("base64")}`,
        },
      });
    // Topics carry the test run's prefix.
    const prefixed = (name: string) => `${e2e.pipeline.topicPrefix}${name}`;
    const [consumersBefore, restBefore] = await Promise.all([consumers(), kafkaRest()]);

    const productId = uniqueProductId("e2e_metrics");
    await e2e.api.createProduct(productId, 5);
    const cartId = await e2e.api.cartWith(productId, 1);
    const answer = await e2e.api.checkout(cartId, "tok_visa");
    expect(answer.status).toBe(202);
    const orderId = answer.order?.orderId ?? "";
    const final = await e2e.api.waitFinal([orderId]);
    expect(final.get(orderId)?.status).toBe("confirmed");

    const applied = (samples: Sample[], consumer: string, topic: string) =>
      sumOf(samples, "consumer_events_total", { consumer, topic, outcome: "applied" });
    const moved = (samples: Sample[], consumer: string, topic: string) =>
      applied(samples, consumer, topic) - applied(consumersBefore, consumer, topic);
    let after: Sample[] = [];
    await expect
      .poll(
        async () => {
          after = await consumers();
          return moved(after, "email", prefixed(TOPICS.orderFinalized));
        },
        { timeout: 20_000 },
      )
      .toBeGreaterThanOrEqual(1);
    for (const [consumer, topic] of [
      ["orders", prefixed(TOPICS.orderPlaced)],
      ["inventory", prefixed(TOPICS.orderPlaced)],
      ["payment", prefixed(TOPICS.orderPlaced)],
      ["cart-persistence", prefixed(TOPICS.cartUpdated)],
    ] as const) {
      expect(moved(after, consumer, topic), `${consumer} on ${topic}`).toBeGreaterThanOrEqual(1);
    }
    expect(sumOf(after, "consumer_event_processing_seconds_count")).toBeGreaterThan(
      sumOf(consumersBefore, "consumer_event_processing_seconds_count"),
    );

    await expect
      .poll(
        async () =>
          (await consumers())
            .filter((s) => s.name === "consumer_lag_messages" && s.labels.consumer === "orders")
            .map((s) => s.value),
        { timeout: 20_000 },
      )
      .toSatisfy((lags: number[]) => lags.length > 0 && lags.every((lag) => lag === 0));

    const restAfter = await kafkaRest();
    const published = (samples: Sample[]) =>
      sumOf(samples, "kafka_rest_requests_total", { method: "POST", route: "/produce", status: "200" });
    // The checkout's OrderPlaced, and the cart's cart-updated events.
    expect(published(restAfter) - published(restBefore)).toBeGreaterThanOrEqual(2);
    expect(sumOf(restAfter, "kafka_rest_produce_batch_messages_sum")).toBeGreaterThan(
      sumOf(restBefore, "kafka_rest_produce_batch_messages_sum"),
    );
  });
});
