import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { readPipelineBacklog } from "../consumers/src/metrics/pipeline-backlog.ts";
import { stockKey } from "../domain/stock-counter.ts";
import { checkoutAll, uniqueProductId } from "./support/api.ts";
import { drillTimeout, FAULT_MS, orderCount, report, scaled } from "./support/drill.ts";
import { useE2e } from "./support/fixture.ts";
import { sleep, waitFor } from "./support/pipeline.ts";
import { readRecords, readStock } from "./support/records.ts";

/**
 * Redis frozen (SIGSTOP: a failover, a stuck primary) for FAULT_MS with orders in flight; the workers
 * and the consumers both on the drill's own Redis. The Postgres side of every order completes during
 * the freeze (the Redis writes that follow its commits wait as effects rows); within seconds of the
 * resume the status records and the edge stock counter are right.
 */
const stack = inject("stack");
describe("Redis paused for minutes mid-stream", () => {
  const e2e = useE2e({
    services: {
      redisUrl: stack.drillRedisUrl,
      redisRestUrl: stack.drillRedisRestUrl,
      redisRestToken: stack.drillRedisRestToken,
    },
    settings: { DEPENDENCY_RETRY_MAX_DELAY_MS: String(scaled(10_000)) },
  });
  const redis = new Redis(stack.drillRedisUrl);
  let paused = false;
  const drill = async (action: "pause" | "resume") => {
    const res = await fetch(`${stack.drillControlUrl}/redis/${action}`, { method: "POST" });
    expect(res.status).toBe(204);
    paused = action === "pause";
  };
  afterAll(async () => {
    if (paused) await drill("resume");
    redis.disconnect();
  });

  it(
    "completes the Postgres side of every order while Redis is frozen; status records and stock are right soon after",
    async () => {
      const productId = uniqueProductId("drill_redis");
      const count = orderCount(100, 30);
      await e2e.api.createProduct(productId, count * 2);
      const carts = await Promise.all(Array.from({ length: count }, () => e2e.api.cartWith(productId, 1)));
      const orderIds = (await checkoutAll(e2e.api, carts)).map((o) => o.orderId);

      await drill("pause");
      const pausedAt = Date.now();
      await waitFor(
        "the Postgres side of every order: confirmed, captured, emailed, stock committed",
        async () => {
          const r = await readRecords(e2e.pipeline.db, orderIds);
          return orderIds.every(
            (id) =>
              r.orders.get(id)?.status === "confirmed" &&
              r.payments.get(id) === "captured" &&
              r.emails.get(id) === 1,
          );
        },
        FAULT_MS,
      );
      const postgresDoneMs = Date.now() - pausedAt;
      const stock = await readStock(e2e.pipeline.db, productId);
      expect(stock).toEqual({ available: count, reserved: 0 });
      // What Redis should learn of them waits as effects rows.
      expect((await readPipelineBacklog(e2e.pipeline.db)).effects.rows).toBeGreaterThan(0);
      await sleep(Math.max(0, FAULT_MS - (Date.now() - pausedAt)));
      await drill("resume");
      const resumedAt = Date.now();

      await waitFor(
        "every status record confirmed and the stock counter at Postgres's level",
        async () => {
          const records = await Promise.all(orderIds.map((id) => redis.get(`order:${id}`)));
          const confirmed = records.every((r) => r !== null && JSON.parse(r).status === "confirmed");
          const [level, held] = await redis.hmget(stockKey(productId), "pg", "h");
          return confirmed && Number(level) === stock.available && Number(held) === 0;
        },
        60_000,
      );
      const rightAfterMs = Date.now() - resumedAt;
      for (const id of orderIds.slice(0, 5)) expect((await e2e.api.order(id)).status).toBe("confirmed");
      report("redis paused", {
        orders: count,
        postgresSideDoneDuringPauseMs: postgresDoneMs,
        rightAfterResumeMs: rightAfterMs,
      });
    },
    drillTimeout(),
  );
});
