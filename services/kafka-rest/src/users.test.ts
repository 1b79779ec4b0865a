import { describe, expect, it } from "vitest";
import { KafkaRestUsersSchema, topicMatches } from "./users.ts";

describe("topicMatches", () => {
  it.each([
    ["order-placed", "order-placed", true],
    ["order-placed", "dev.order-placed", false],
    ["order-placed", "order-placed2", false],
    ["*order-placed", "order-placed", true],
    ["*order-placed", "dev.order-placed", true],
    ["*order-placed", "t1a2b3.order-placed", true],
    ["*order-placed", "order-placed.dlq", false],
    ["*order-placed", "dev.payment-results", false],
    ["dev.*", "dev.order-placed", true],
    ["dev.*", "dev.", true],
    // `.` is a dot, not "any character".
    ["dev.*", "devXorder-placed", false],
    ["dev.*", "prod.order-placed", false],
    ["*.order-*", "t1.order-placed", true],
    ["*.order-*", "t1.order-placed.dlq", true],
    ["*.order-*", "order-placed", false],
    ["a*b*c", "abc", true],
    ["a*b*c", "aXbYbZc", true],
    ["a*b*c", "aXbYc.d", false],
    ["*", "anything.at-all", true],
    ["**", "", true],
  ])("%s against %s: %s", (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });

  it("stays fast on patterns that make a backtracking matcher explode", () => {
    const pattern = `${"*a".repeat(60)}*b`;
    const started = performance.now();
    expect(topicMatches(pattern, "a".repeat(249))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("KafkaRestUsersSchema", () => {
  it("fills the grants left out with nothing", () => {
    expect(KafkaRestUsersSchema.parse([{ username: "prometheus", password: "p", metrics: true }])).toEqual([
      { username: "prometheus", password: "p", produce: [], consume: [], metrics: true },
    ]);
  });
});
