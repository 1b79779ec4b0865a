import { Redis } from "ioredis";
import pg from "pg";
import { uniqueProductId } from "../../e2e/support/api.ts";
import { cpuMeter } from "../cpu.ts";
import type { BenchEnv } from "../env.ts";
import { createLagSampler } from "../kafka-lag.ts";
import { type CatalogEntry, createInjector, type Injector, placedOrder } from "../pipeline-inject.ts";
import { orderStates } from "../settled.ts";
import { pgStats } from "./pg-stats.ts";
import type { Scenario, Table } from "./types.ts";

/**
 * The pipeline on its own (Kafka REST, Kafka, the consumers, PostgreSQL), as a team sizes it: orders
 * put in the way checkout puts them (pipeline-inject.ts) at a fixed rate, and each followed until it
 * is settled, the whole saga done: confirmed, captured, its email written and its fulfillment
 * requested; or cancelled, with nothing held, no authorization left and its email written.
 */

/** Processes whose CPU is the pipeline's. */
const PIPELINE = new Set(["Kafka REST", "Kafka", "consumers", "PostgreSQL"]);

interface Phase {
  name: string;
  /** Orders per second, or undefined: all at once (a burst). */
  rate?: number;
  orders: number;
  pick: () => CatalogEntry;
}

interface PhaseRun {
  name: string;
  orders: number;
  injectedPerS: number;
  injectS: number;
  settledS: number;
  settledPerS: number;
  /** From the last order put in until every order was settled (the lag worked off). */
  drainS: number;
  confirmed: number;
  cancelled: number;
  toConfirmedMs: { p50: number; p99: number };
  toSettledMs: { p50: number; p99: number };
  cpuMsPerOrder: Record<string, number>;
  pipelineCpuMsPerOrder: number;
  statementsPerOrder: number;
  transactionsPerOrder: number;
  outboxRowsPerOrder: number;
  processedEventRowsPerOrder: number;
  peakLag: number;
  /** The statements called most in the phase, per order. */
  topStatements: Array<{ query: string; perOrder: number; msPerOrder: number }>;
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const spread = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: Math.round(percentile(sorted, 50)), p99: Math.round(percentile(sorted, 99)) };
};

/** Puts the phase's orders in at its rate (each order its own Kafka REST request, 256 at most in flight). */
const inject = async (injector: Injector, phase: Phase, placedAt: Map<string, number>): Promise<number> => {
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < phase.orders; i++) {
    if (phase.rate) {
      const due = started + (i * 1000) / phase.rate;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    while (inFlight.size >= 256) await Promise.race(inFlight);
    const event = placedOrder(phase.pick());
    placedAt.set(event.orderId, Date.now());
    const sent = injector.place(event).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  }
  await Promise.all(inFlight);
  return performance.now() - started;
};

const runPhase = async (
  env: BenchEnv,
  db: pg.Pool,
  injector: Injector,
  phase: Phase,
  log: (msg: string) => void,
): Promise<PhaseRun> => {
  const lag = createLagSampler(env.kafkaBrokers, env.kafkaTopicPrefix);
  const watcher = lag.watch();
  const stats = pgStats(env.databaseUrl);
  await stats.reset();
  const counts = async () => {
    const { rows } = await db.query<{ xacts: string; outbox: string; processed: string }>(
      `select (select xact_commit + xact_rollback from pg_stat_database where datname = current_database()) as xacts,
         (select coalesce(max(id), 0) from outbox) as outbox,
         (select count(*) from processed_events) as processed`,
    );
    return rows[0] ?? { xacts: "0", outbox: "0", processed: "0" };
  };
  const before = await counts();
  const cpu = cpuMeter(env.cpuComponents);
  const placedAt = new Map<string, number>();
  const settledAt = new Map<string, number>();
  const confirmedMs: number[] = [];
  let confirmed = 0;
  let cancelled = 0;
  const started = Date.now();
  let injecting = true;
  let injectMs = 0;
  const injected = inject(injector, phase, placedAt).then((ms) => {
    injecting = false;
    injectMs = ms;
  });
  const deadline = started + 900_000;
  while (injecting || settledAt.size < phase.orders) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const open = [...placedAt.keys()].filter((id) => !settledAt.has(id));
    if (open.length === 0) continue;
    const now = Date.now();
    for (const order of await orderStates(db, open)) {
      if (!order.settled) continue;
      settledAt.set(order.orderId, now);
      if (order.status === "cancelled") cancelled++;
      else confirmed++;
      if (order.finalizedMs !== null) confirmedMs.push(order.finalizedMs - order.placedMs);
    }
    if (Date.now() > deadline)
      throw new Error(`${phase.name}: ${phase.orders - settledAt.size} orders not settled in 15 minutes`);
  }
  await injected;
  const settledMs = Math.max(...settledAt.values()) - started;
  const used = cpu.stop();
  const after = await counts();
  const statements = (await stats.count()).all;
  const top = await stats.top(25);
  await stats.close();
  const lagged = await watcher.stop();
  await lag.close();
  const n = phase.orders;
  const perOrder = (value: number) => Number((value / n).toFixed(2));
  const cpuMsPerOrder = Object.fromEntries(
    used.map((c) => [c.name, Number(((c.cpuS * 1000) / n).toFixed(2))]),
  );
  const pipelineCpu = used.filter((c) => PIPELINE.has(c.name)).reduce((sum, c) => sum + c.cpuS, 0);
  const run: PhaseRun = {
    name: phase.name,
    orders: n,
    injectedPerS: Number(((n * 1000) / injectMs).toFixed(1)),
    injectS: Number((injectMs / 1000).toFixed(1)),
    settledS: Number((settledMs / 1000).toFixed(1)),
    settledPerS: Number(((n * 1000) / settledMs).toFixed(1)),
    drainS: Number(Math.max(0, (settledMs - injectMs) / 1000).toFixed(1)),
    confirmed,
    cancelled,
    toConfirmedMs: spread(confirmedMs),
    toSettledMs: spread([...settledAt].map(([id, at]) => at - (placedAt.get(id) ?? at))),
    cpuMsPerOrder,
    pipelineCpuMsPerOrder: Number(((pipelineCpu * 1000) / n).toFixed(2)),
    statementsPerOrder: perOrder(statements),
    transactionsPerOrder: perOrder(Number(after.xacts) - Number(before.xacts)),
    outboxRowsPerOrder: perOrder(Number(after.outbox) - Number(before.outbox)),
    processedEventRowsPerOrder: perOrder(Number(after.processed) - Number(before.processed)),
    peakLag: lagged.peak,
    topStatements: top.map((t) => ({
      query: t.query.replace(/\s+/g, " ").slice(0, 300),
      perOrder: perOrder(t.calls),
      msPerOrder: Number((t.totalMs / n).toFixed(3)),
    })),
  };
  log(
    `${phase.name}: ${n} orders, ${run.settledPerS} settled/s, pipeline ${run.pipelineCpuMsPerOrder} CPU ms per order, settled p50 ${run.toSettledMs.p50} ms`,
  );
  return run;
};

/** Scenario: the pipeline on its own at fixed rates and in a burst, over a spread catalog and one hot product. */
export const pipelineAlone: Scenario = async ({
  env,
  api,
  quick,
  log,
  rate: asked,
  seconds: askedSeconds,
}) => {
  const rate = asked ?? (quick ? 20 : 100);
  const seconds = askedSeconds ?? (quick ? 5 : 120);
  const burst = quick ? 100 : 2_000;
  const db = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  const redis = new Redis(env.redisUrl);
  try {
    // Enough stock that no order is short: the scenario measures the saga's work, not sell-outs.
    const hotId = uniqueProductId("bench_pipeline_hot");
    await api.createProduct(hotId, 10_000_000);
    await db.query(
      "update inventory set available = 10000000, version = version + 1 where variant_id <> $1",
      [hotId],
    );
    const { rows } = await db.query<{
      product_id: string;
      sku: string;
      name: string;
      price_cents: string;
      available: number;
      version: string;
    }>(
      `select p.id as product_id, p.sku, p.name, p.price_cents, i.available, i.version
       from products p join inventory i on i.variant_id = p.id`,
    );
    const injector = createInjector({
      redis,
      kafkaRestUrl: env.kafkaRestUrl,
      username: env.kafkaRestUsername,
      password: env.kafkaRestPassword,
      topicPrefix: env.kafkaTopicPrefix,
    });
    await injector.syncStock(
      rows.map((r) => ({ productId: r.product_id, available: r.available, version: Number(r.version) })),
    );
    const entries: CatalogEntry[] = rows.map((r) => ({
      productId: r.product_id,
      sku: r.sku,
      name: r.name,
      priceCents: Number(r.price_cents),
    }));
    const spreadCatalog = entries.filter((e) => e.productId !== hotId);
    const hot = entries.find((e) => e.productId === hotId);
    if (!hot || spreadCatalog.length === 0) throw new Error("the catalog has no products to order");
    const anyProduct = () => spreadCatalog[Math.floor(Math.random() * spreadCatalog.length)] as CatalogEntry;
    const phases: Phase[] = [
      { name: `spread catalog, ${rate}/s for ${seconds} s`, rate, orders: rate * seconds, pick: anyProduct },
      {
        name: `one hot product, ${rate}/s for ${Math.ceil(seconds / 2)} s`,
        rate,
        orders: rate * Math.ceil(seconds / 2),
        pick: () => hot,
      },
      { name: `burst of ${burst}, spread catalog`, orders: burst, pick: anyProduct },
    ];
    const runs: PhaseRun[] = [];
    for (const phase of phases) {
      log(`pipeline: ${phase.name}`);
      runs.push(await runPhase(env, db, injector, phase, log));
    }
    const processes = Object.keys(runs[0]?.cpuMsPerOrder ?? {});
    const tables: Table[] = [
      {
        title: "Settled orders per second and time to settle",
        columns: [
          "phase",
          "orders",
          "put in per s",
          "settled per s",
          "lag worked off after (s)",
          "confirmed",
          "cancelled",
          "to confirmed p50 / p99 (ms)",
          "to settled p50 / p99 (ms)",
          "peak lag (messages)",
        ],
        rows: runs.map((r) => [
          r.name,
          r.orders,
          r.injectedPerS,
          r.settledPerS,
          r.drainS,
          r.confirmed,
          r.cancelled,
          `${r.toConfirmedMs.p50} / ${r.toConfirmedMs.p99}`,
          `${r.toSettledMs.p50} / ${r.toSettledMs.p99}`,
          r.peakLag,
        ]),
        note: "Settled: confirmed, captured, its email written and its fulfillment requested; or cancelled with nothing held or authorized and its email written. Checked once a second (the check's query is counted in PostgreSQL's figures below), so to-settled times are to within a second. To confirmed: order_progress.finalized_at − placed_at.",
      },
      {
        title: "CPU ms per order, by process",
        columns: ["phase", ...processes, "pipeline (Kafka REST + Kafka + consumers + PostgreSQL)"],
        rows: runs.map((r) => [
          r.name,
          ...processes.map((p) => r.cpuMsPerOrder[p] ?? 0),
          r.pipelineCpuMsPerOrder,
        ]),
        note: "From the first order put in until the last was settled. The load generator here is the injector (Redis records and one Kafka REST request per order); workerd idles (the edge is not in this scenario: the checkout scenario reports its CPU per checkout).",
      },
      {
        title: "Work per order in PostgreSQL",
        columns: ["phase", "statements", "transactions", "outbox rows", "processed-event rows"],
        rows: runs.map((r) => [
          r.name,
          r.statementsPerOrder,
          r.transactionsPerOrder,
          r.outboxRowsPerOrder,
          r.processedEventRowsPerOrder,
        ]),
        note: "pg_stat_statements and pg_stat_database over the phase (BEGIN and COMMIT count as statements).",
      },
    ];
    const spreadRun = runs[0];
    return {
      id: "pipeline",
      title: "The pipeline on its own",
      conditions: {
        "spread catalog": `${spreadCatalog.length} products, one unit of a random one per order`,
        "hot product": "every order one unit of the same product",
        rate: `${rate} orders/s`,
        consumers: "all seven in one Node process, one replica each, 4 partitions per topic",
      },
      headlines: runs.map(
        (r) =>
          `${r.name}: ${r.settledPerS} settled orders/s (put in at ${r.injectedPerS}/s; lag worked off ${r.drainS} s after the last), settled p50 ${r.toSettledMs.p50} ms / p99 ${r.toSettledMs.p99} ms; pipeline ${r.pipelineCpuMsPerOrder} CPU ms per order, ${r.statementsPerOrder} statements, ${r.transactionsPerOrder} transactions, ${r.outboxRowsPerOrder} outbox rows per order.`,
      ),
      tables,
      checks: [
        ...runs.map((r) => ({
          name: `${r.name}: every order settled`,
          ok: r.confirmed + r.cancelled === r.orders,
          detail: `${r.confirmed} confirmed, ${r.cancelled} cancelled of ${r.orders}`,
        })),
        {
          name: "no order cancelled (stock and cards were all good)",
          ok: runs.every((r) => r.cancelled === 0),
          detail: runs.map((r) => r.cancelled).join(", "),
        },
      ],
      data: { rate, seconds, burst, runs, spread: spreadRun },
    };
  } finally {
    redis.disconnect();
    await db.end();
  }
};
