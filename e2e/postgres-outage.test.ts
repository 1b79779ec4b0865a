import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startWorkers, type Workers } from "../local/workers.ts";
import { type Api, checkoutAll, createApi, overstateStockCounter, uniqueProductId } from "./support/api.ts";
import { type Pipeline, sleep, startPipeline, takeE2eLock, waitFor } from "./support/pipeline.ts";
import { readRecords, readStock, tally } from "./support/records.ts";

/**
 * Issue 4, scenario 5: the consumers' PostgreSQL (the throwaway drill cluster) stops during a burst
 * of checkouts. Checkout never touches Postgres, so every checkout is accepted; once Postgres is
 * back, every order is processed. The workers' catalog stays on the main database.
 */
describe("Postgres stopped during a burst of checkouts", () => {
  const stack = inject("stack");
  let unlock: () => Promise<void>;
  let workers: Workers;
  let pipeline: Pipeline | undefined;
  let api: Api;

  const drill = async (action: "stop" | "start"): Promise<void> => {
    const res = await fetch(`${stack.drillControlUrl}/postgres/${action}`, { method: "POST" });
    if (res.status !== 204) throw new Error(`drill ${action}: ${res.status} ${await res.text()}`);
  };

  /** The product and its stock in the drill database too, under the same id. */
  const mirrorProduct = async (productId: string, available: number): Promise<void> => {
    const client = new pg.Client({ connectionString: stack.drillDatabaseUrl });
    await client.connect();
    try {
      await client.query("insert into categories (slug, name) values ('e2e', 'E2E') on conflict do nothing");
      await client.query(
        `insert into products (id, sku, name, price_cents, currency, category) values ($1, $2, $3, 1250, 'USD', 'e2e')`,
        [productId, `SKU-${productId}`.slice(0, 64), `E2E product ${productId}`],
      );
      await client.query(
        "insert into product_variants (id, product_id, sku, price_cents) values ($1, $1, $2, 1250)",
        [productId, `SKU-${productId}`.slice(0, 64)],
      );
      await client.query("insert into inventory (variant_id, available) values ($1, $2)", [
        productId,
        available,
      ]);
    } finally {
      await client.end();
    }
  };

  const running = (): Pipeline => {
    if (!pipeline) throw new Error("the pipeline is not running");
    return pipeline;
  };
  const pipelineDb = () => running().db;

  beforeAll(async () => {
    unlock = await takeE2eLock(stack.databaseUrl);
    workers = await startWorkers(stack);
    pipeline = await startPipeline({
      databaseUrl: stack.drillDatabaseUrl,
      redisUrl: stack.redisUrl,
      brokers: stack.kafkaBrokers.split(","),
      topicPrefix: stack.kafkaTopicPrefix,
    });
    api = createApi(workers.url, stack.adminToken);
  }, 300_000);

  afterAll(async () => {
    await drill("start").catch(() => undefined);
    await pipeline?.close();
    await workers?.dispose();
    await unlock?.();
  });

  it("every checkout answers 202 while Postgres is down, and every order is processed after", async () => {
    const productId = uniqueProductId("e2e_pgdown");
    const units = 15;
    const total = 30;
    await api.createProduct(productId, units);
    await mirrorProduct(productId, units);
    // More orders than units go down the pipeline: the edge counter is made wrong on purpose, so
    // Postgres alone decides who gets the stock (and cancels the rest out_of_stock).
    await overstateStockCounter(stack, productId);
    const cartIds = await Promise.all(Array.from({ length: total }, () => api.cartWith(productId, 1)));

    const started = Date.now();
    // The first third goes through while Postgres is up, the rest during the outage.
    const early = await checkoutAll(api, cartIds.slice(0, 10));
    await drill("stop");
    const stoppedAt = Date.now() - started;
    const late = await checkoutAll(api, cartIds.slice(10));
    expect(late).toHaveLength(total - 10);
    await sleep(2_000);
    await drill("start");
    const restartedAt = Date.now() - started;
    const orderIds = [...early, ...late].map((o) => o.orderId);

    const final = await api.waitFinal(orderIds, 180_000);
    console.log(
      `[e2e pg-down] stopped at ${stoppedAt} ms, started at ${restartedAt} ms, ${total} orders final in ${Date.now() - started} ms`,
    );
    const outcomes = tally([...final.values()].map((o) => `${o.status}:${o.reason ?? ""}`));
    expect(Object.fromEntries(outcomes)).toEqual({
      "confirmed:": units,
      "cancelled:out_of_stock": total - units,
    });

    // The drill database is the system of record here: every order is in it, final, settled, emailed.
    await waitFor("settlements in the drill database", async () => {
      const r = await readRecords(pipelineDb(), orderIds);
      return r.emails.size === total && r.heldReservations === 0;
    });
    const records = await readRecords(pipelineDb(), orderIds);
    expect(records.orders.size).toBe(total);
    for (const id of orderIds) {
      const order = final.get(id);
      expect(records.orders.get(id)).toEqual({ status: order?.status, reason: order?.reason ?? null });
      expect(records.emails.get(id)).toBe(1);
      if (order?.status === "confirmed") expect(records.payments.get(id)).toBe("captured");
    }
    expect(await readStock(pipelineDb(), productId)).toEqual({ available: 0, reserved: 0 });
    expect(running().total("dead-lettered")).toBe(0);

    // The outage left no Postgres client checked out: every transaction gave its connection back
    // (drizzle's pooled transaction leaks the client when BEGIN fails; db/node-client.ts prevents it).
    const leaked = await running().close();
    pipeline = undefined;
    expect(leaked).toBe(0);
  });
});
