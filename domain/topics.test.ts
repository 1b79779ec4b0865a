import { describe, expect, it } from "vitest";
import { allTopics, dlqTopic } from "./topics.ts";

describe("topics", () => {
  it("pairs every topic with its dead-letter twin", () => {
    expect(dlqTopic("order-placed")).toBe("order-placed.dlq");
    expect(allTopics()).toEqual([
      "cart-updated",
      "cart-updated.dlq",
      "order-placed",
      "order-placed.dlq",
      "catalog-updated",
      "catalog-updated.dlq",
      "payment-events",
      "payment-events.dlq",
      "order-finalized",
      "order-finalized.dlq",
      "order-shipped",
      "order-shipped.dlq",
    ]);
  });
});
