import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createNodeDb } from "../../db/node-client.ts";
import { cartSnapshots } from "../../db/schema/index.ts";
import { TOPICS } from "../../domain/topics.ts";
import { REPO_ROOT } from "../../local/stack.ts";
import { createTestProducer, waitUntil } from "./test-support/kafka.ts";
import { scrape, sumOf } from "./test-support/prometheus.ts";

const stack = inject("stack");
const { db, pool } = createNodeDb(stack.databaseUrl, { max: 2 });
afterAll(() => pool.end());

/** Runs `node consumers/src/main.ts` as the container does (Node strips the types). */
const runMain = (
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; output: () => string } => {
  let output = "";
  const child = spawn(process.execPath, ["consumers/src/main.ts", ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, output: () => output };
};

describe("consumers main", () => {
  it("exits with a clear message when its configuration is missing", async () => {
    const { child, output } = runMain(["orders"], {});
    const [code] = await once(child, "exit");
    expect(code).toBe(2);
    expect(output()).toContain("DATABASE_URL is required");
    expect(output()).toContain("KAFKA_BROKERS is required");

    const withoutRedis = runMain(["order-state"], {
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers,
    });
    const [redisCode] = await once(withoutRedis.child, "exit");
    expect(redisCode).toBe(2);
    expect(withoutRedis.output()).toContain("order-state: REDIS_URL is required");
  });

  it("exits with a clear message when its operations port is taken", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const { child, output } = runMain(["cart-persistence"], {
        DATABASE_URL: stack.databaseUrl,
        KAFKA_BROKERS: stack.kafkaBrokers,
        METRICS_PORT: String((taken.address() as AddressInfo).port),
      });
      const [code] = await once(child, "exit");
      expect(code).toBe(2);
      expect(output()).toContain("cannot serve /healthz, /readyz and /metrics");
    } finally {
      taken.close();
    }
  });

  it("consumes, and on SIGTERM finishes, commits and exits cleanly", async () => {
    const { child, output } = runMain(["cart-persistence"], {
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers,
      KAFKA_TOPIC_PREFIX: stack.kafkaTopicPrefix,
      CONSUMER_GROUP_SUFFIX: `-main-test-${randomUUID().slice(0, 8)}`,
      CONSUMER_START_AT: "latest",
      KAFKA_HEARTBEAT_INTERVAL_MS: "500",
      LOG_LEVEL: "info",
      METRICS_PORT: "0",
    });
    const exited = once(child, "exit");
    try {
      await waitUntil("consumers ready", async () => output().includes("consumers ready"), 30_000);
      const opsUrl = /"url":"(http:\/\/127\.0\.0\.1:\d+)","msg":"operations endpoints listening"/.exec(
        output(),
      )?.[1];
      expect(opsUrl).toBeDefined();
      expect((await fetch(`${opsUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${opsUrl}/readyz`)).status).toBe(200);
      const applied = async () =>
        sumOf(await scrape(`${opsUrl}/metrics`), "consumer_events_total", {
          consumer: "cart-persistence",
          topic: `${stack.kafkaTopicPrefix}${TOPICS.cartUpdated}`,
          outcome: "applied",
        });
      // cart-updated is shared with other test files running now: count from here on.
      const before = await applied();
      const cartId = `cart_${randomUUID().replaceAll("-", "")}`;
      const producer = createTestProducer();
      const event = {
        eventId: randomUUID(),
        cartId,
        items: [{ productId: "prod_0000001", qty: 2 }],
        updatedAt: new Date().toISOString(),
      };
      await producer.send([
        { topic: `${stack.kafkaTopicPrefix}${TOPICS.cartUpdated}`, key: cartId, value: event },
      ]);
      await producer.close();
      await waitUntil("the cart snapshot", async () => {
        const rows = await db.select().from(cartSnapshots).where(eq(cartSnapshots.cartId, cartId));
        return rows.length === 1;
      });
      await waitUntil("the event counted on /metrics", async () => (await applied()) > before);
      child.kill("SIGTERM");
      const [code] = await exited;
      expect(code).toBe(0);
      expect(output()).toContain('"msg":"stopped"');
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
