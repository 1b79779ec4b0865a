import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
import { type Api, uniqueProductId } from "../../e2e/support/api.ts";
import { cpuMeter } from "../cpu.ts";
import type { BenchEnv } from "../env.ts";
import { createLagSampler } from "../kafka-lag.ts";
import { httpLoad, type LoadResult } from "../load.ts";
import { BENCH_ADDRESS } from "../pipeline-inject.ts";
import { orderStates } from "../settled.ts";
import { pgStats } from "./pg-stats.ts";
import {
  inBatches,
  LOAD_COLUMNS,
  loadCells,
  range,
  redisCommandCount,
  restCallCount,
  type Scenario,
  type Table,
} from "./types.ts";

const checkoutBody = (cartId: string) =>
  JSON.stringify({
    cartId,
    email: "shopper@example.com",
    paymentToken: "tok_visa",
    shippingAddress: BENCH_ADDRESS,
  });

interface OrderRun {
  load: LoadResult;
  /** Checkouts answered 503 and retried with their key, as the contract tells clients to. */
  retried: number;
  orderIds: string[];
  /** Checkouts answered 409 out_of_stock: the stock counter said no at once. */
  soldOut: number;
  /** From the first checkout sent until every order was final (decided), and settled (all its work done). */
  allFinalMs: number;
  allSettledMs: number;
  statuses: Record<string, number>;
  peakLag: number;
  lagSamples: Array<{ atMs: number; lag: number }>;
  /** Orders confirmed per second, over the time from the first checkout to the last settled order. */
  confirmedPerS: number;
  /** Redis commands per checkout request (workers only: the consumers use Redis once per final order). */
  redisPerCheckout: number;
  /** Upstash REST requests (Redis round trips) per checkout request. */
  restPerCheckout: number;
  /** CPU seconds of each process of the stack, from the first checkout until every order was settled. */
  cpu: Array<{ name: string; cpuS: number }>;
  /** Statements PostgreSQL ran over the same window (pg_stat_statements), and the most called. */
  statements: number;
  topStatements: Array<{ query: string; calls: number; totalMs: number }>;
  /** The payment step's times per order (see paymentStepTimes). */
  payment: PaymentStepTimes;
}

/**
 * Places one checkout per cart with autocannon (each request takes the next cart and a fresh
 * Idempotency-Key), retries those answered 503 or 409 checkout_in_progress with the same key (409
 * out_of_stock is final), then waits in Postgres until every order is final, sampling the consumers'
 * lag all along.
 */
const placeAndFinish = async (
  env: BenchEnv,
  cartIds: string[],
  connections: number,
  log: (msg: string) => void,
): Promise<OrderRun> => {
  const lag = createLagSampler(env.kafkaBrokers, env.kafkaTopicPrefix);
  const watcher = lag.watch();
  const keys = cartIds.map(() => randomUUID());
  const orderOf = new Map<number, string>();
  const soldOut = new Set<number>();
  let next = 0;
  const redis = new Redis(env.redisUrl);
  const commandsBefore = await redisCommandCount(redis);
  const restBefore = await restCallCount(env);
  const pgCounts = pgStats(env.databaseUrl);
  await pgCounts.reset();
  const cpu = cpuMeter(env.cpuComponents);
  const started = performance.now();
  const load = await httpLoad({
    url: env.url,
    connections,
    amount: cartIds.length,
    requests: [
      {
        method: "POST",
        path: "/v1/checkout",
        setupRequest: (request, context) => {
          const i = next++;
          (context as { i: number }).i = i;
          return {
            ...request,
            headers: { "content-type": "application/json", "idempotency-key": keys[i] ?? "" },
            body: checkoutBody(cartIds[i] ?? ""),
          };
        },
        onResponse: (status, body, context) => {
          const i = (context as { i: number }).i;
          if (status === 202) orderOf.set(i, (JSON.parse(body) as { orderId: string }).orderId);
          else if (status === 409 && body.includes('"out_of_stock"')) soldOut.add(i);
        },
      },
    ],
  });
  const redisPerCheckout = ((await redisCommandCount(redis)) - commandsBefore - 1) / load.requests;
  const restPerCheckout = ((await restCallCount(env)) - restBefore - 1) / load.requests;
  redis.disconnect();
  let retried = 0;
  const missing = range(cartIds.length).filter((i) => !orderOf.has(i) && !soldOut.has(i));
  await inBatches(missing, 16, async (i) => {
    for (let attempt = 1; attempt <= 10 && !orderOf.has(i) && !soldOut.has(i); attempt++) {
      retried++;
      await new Promise((r) => setTimeout(r, 500 * attempt));
      const res = await fetch(`${env.url}/v1/checkout`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": keys[i] ?? "" },
        body: checkoutBody(cartIds[i] ?? ""),
      });
      if (res.status === 202) orderOf.set(i, ((await res.json()) as { orderId: string }).orderId);
      else if (res.status === 409 && (await res.text()).includes('"out_of_stock"')) soldOut.add(i);
      // Anything else (503, or 409 checkout_in_progress while an earlier attempt holds the cart) is
      // retried with the same key, as a shopper's app would.
    }
  });
  const orderIds = [...orderOf.values()];
  if (orderIds.length + soldOut.size < cartIds.length)
    throw new Error(`${cartIds.length - orderIds.length - soldOut.size} checkouts never answered`);
  log(`${orderIds.length} orders accepted; waiting until all are final`);

  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  let statuses: Record<string, number> = {};
  let allFinalMs: number | undefined;
  const deadline = Date.now() + 600_000;
  // Until every order is settled (the whole saga done: captured or released, its email written, its
  // fulfillment requested), not only decided: the CPU window covers all the work an order costs.
  for (;;) {
    const states = await orderStates(db, orderIds);
    statuses = {};
    for (const state of states) {
      // Fulfilling and shipped orders were confirmed first (the fulfillment consumer runs too).
      const status = ["fulfilling", "shipped"].includes(state.status) ? "confirmed" : state.status;
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
    const final = (statuses.confirmed ?? 0) + (statuses.cancelled ?? 0);
    if (allFinalMs === undefined && final === orderIds.length) allFinalMs = performance.now() - started;
    if (states.filter((state) => state.settled).length === orderIds.length) break;
    if (Date.now() > deadline)
      throw new Error(`orders not settled after 10 minutes: ${JSON.stringify(statuses)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const allSettledMs = performance.now() - started;
  const cpuUsed = cpu.stop();
  const payment = await paymentStepTimes(db, orderIds);
  const statements = (await pgCounts.count()).all;
  const topStatements = await pgCounts.top(40);
  await pgCounts.close();
  await db.end();
  const lagged = await watcher.stop();
  await lag.close();
  return {
    load,
    retried,
    orderIds,
    soldOut: soldOut.size,
    allFinalMs: Math.round(allFinalMs ?? allSettledMs),
    allSettledMs: Math.round(allSettledMs),
    statuses,
    peakLag: lagged.peak,
    lagSamples: lagged.samples,
    confirmedPerS: Number((((statuses.confirmed ?? 0) * 1000) / allSettledMs).toFixed(1)),
    redisPerCheckout: Number(redisPerCheckout.toFixed(1)),
    restPerCheckout: Number(restPerCheckout.toFixed(2)),
    cpu: cpuUsed,
    statements,
    topStatements,
    payment,
  };
};

/**
 * The payment step per order, from its rows: how long the processor took to answer (first ask to
 * the answer recorded, retries included) and how long the order waited before the step asked
 * (placed → first ask: the queue in front of the payment consumer).
 */
interface PaymentStepTimes {
  answeredMs: { p50: number; p99: number };
  waitedMs: { p50: number; p99: number };
}

const paymentStepTimes = async (db: pg.Client, orderIds: readonly string[]): Promise<PaymentStepTimes> => {
  const { rows } = await db.query<{ answered: number; waited: number }>(
    `select extract(epoch from p.answered_at - p.requested_at) * 1000 as answered,
       extract(epoch from p.requested_at - o.placed_at) * 1000 as waited
     from payments p join orders o using (order_id)
     where p.order_id = any($1) and p.answered_at is not null`,
    [orderIds],
  );
  const times = (key: "answered" | "waited") => {
    const sorted = rows.map((r) => Math.max(0, Math.round(Number(r[key])))).sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  return { answeredMs: times("answered"), waitedMs: times("waited") };
};

/** How long confirmed orders took to ship (the simulated warehouse ships after a set delay). */
interface ShipTimes {
  shipped: number;
  /** Checkout's placedAt → shipment recorded, and confirmation → shipment recorded (ms). */
  placedToShipped: { p50: number; p95: number };
  confirmedToShipped: { p50: number; p95: number };
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** Waits until every confirmed order is shipped (or 5 minutes passed), then reads its times. */
const followToShipped = async (env: BenchEnv, orderIds: readonly string[]): Promise<ShipTimes> => {
  const db = new pg.Client({ connectionString: env.databaseUrl });
  await db.connect();
  try {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const { rows } = await db.query<{ open: string }>(
        "select count(*) as open from orders where order_id = any($1) and status in ('confirmed', 'fulfilling')",
        [orderIds],
      );
      if (Number(rows[0]?.open ?? 0) === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    // updated_at of a shipped order is when its shipment was recorded (its last change).
    const { rows } = await db.query<{ placed: number; confirmed: number }>(
      `select extract(epoch from o.updated_at - o.placed_at) * 1000 as placed,
         extract(epoch from o.updated_at - p.finalized_at) * 1000 as confirmed
       from orders o join order_progress p using (order_id)
       where o.order_id = any($1) and o.status = 'shipped'`,
      [orderIds],
    );
    const times = (key: "placed" | "confirmed") => {
      const sorted = rows.map((r) => Math.round(Number(r[key]))).sort((a, b) => a - b);
      return { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
    };
    return { shipped: rows.length, placedToShipped: times("placed"), confirmedToShipped: times("confirmed") };
  } finally {
    await db.end();
  }
};

/** `count` carts holding one unit of the product each, made through the API. */
const cartsOf = (api: Api, productId: string, count: number): Promise<string[]> =>
  inBatches(range(count), 32, () => api.cartWith(productId, 1));

/** Scenario 3: orders from filled carts through the whole pipeline until each is confirmed. */
export const checkoutToConfirmed: Scenario = async ({ env, api, quick, orders, log }) => {
  const count = orders ?? (quick ? 100 : 10_000);
  const connections = 64;
  const productId = uniqueProductId("bench_checkout");
  await api.createProduct(productId, count * 2);
  log(`filling ${count} carts`);
  const carts = await cartsOf(api, productId, count);
  log(`${count} checkouts at ${connections} connections`);
  const run = await placeAndFinish(env, carts, connections, log);
  log("following the confirmed orders to shipped");
  const ship = await followToShipped(env, run.orderIds);
  return {
    id: "checkout",
    title: "Checkout to confirmed",
    conditions: {
      orders: count,
      connections,
      "payment token": "tok_visa (simulated processor, default latency)",
      consumers: "all seven in one Node process, one replica each, 4 partitions per topic",
    },
    headlines: [
      `${count} orders at ${connections} connections: checkout p50 ${run.load.p50Ms} ms / p99 ${run.load.p99Ms} ms (${run.load.rps} req/s); all final ${(run.allFinalMs / 1000).toFixed(1)} s and all settled ${(run.allSettledMs / 1000).toFixed(1)} s after the first checkout (${run.confirmedPerS} confirmed and settled/s), peak consumer lag ${run.peakLag} messages.`,
      `Payment step: the processor answered p50 ${run.payment.answeredMs.p50} ms / p99 ${run.payment.answeredMs.p99} ms after the step asked; orders waited p50 ${run.payment.waitedMs.p50} ms / p99 ${run.payment.waitedMs.p99} ms for the step to ask.`,
      `${ship.shipped} shipped: placed to shipped p50 ${ship.placedToShipped.p50} ms / p95 ${ship.placedToShipped.p95} ms, confirmed to shipped p50 ${ship.confirmedToShipped.p50} ms / p95 ${ship.confirmedToShipped.p95} ms (simulated warehouse).`,
    ],
    tables: [
      {
        title: "POST /v1/checkout",
        columns: [
          ...LOAD_COLUMNS,
          "retried 503s",
          "Redis round trips per checkout (REST requests)",
          "Redis commands per checkout (incl. inside scripts)",
        ],
        rows: [[...loadCells(run.load), run.retried, run.restPerCheckout, run.redisPerCheckout]],
        note: "Round trips are the requests the Upstash REST endpoint served during the checkouts (workers only). Redis commands are counted over the checkout requests only; order-state consumer writes during that window are included.",
      },
      cpuTable(run, count),
      statementsTable(run),
      {
        title: "Through the pipeline",
        columns: [
          "orders",
          "confirmed",
          "cancelled",
          "all final after (s)",
          "all settled after (s)",
          "confirmed and settled per s",
          "peak consumer lag (messages)",
        ],
        rows: [
          [
            run.orderIds.length,
            run.statuses.confirmed ?? 0,
            run.statuses.cancelled ?? 0,
            (run.allFinalMs / 1000).toFixed(1),
            (run.allSettledMs / 1000).toFixed(1),
            run.confirmedPerS,
            run.peakLag,
          ],
        ],
        note: "Lag is summed over the consumer groups and all partitions, sampled every 250 ms.",
      },
      {
        title: "Payment step per order",
        columns: ["processor answered p50 (ms)", "p99 (ms)", "waited for the step p50 (ms)", "p99 (ms)"],
        rows: [
          [
            run.payment.answeredMs.p50,
            run.payment.answeredMs.p99,
            run.payment.waitedMs.p50,
            run.payment.waitedMs.p99,
          ],
        ],
        note: "From the payments rows: requested_at (written before the processor is called) to answered_at (the answer recorded), and the order's placed_at to requested_at (the queue before the payment consumer).",
      },
      {
        title: "Time to ship",
        columns: [
          "shipped",
          "placed → shipped p50 (ms)",
          "p95 (ms)",
          "confirmed → shipped p50 (ms)",
          "p95 (ms)",
        ],
        rows: [
          [
            ship.shipped,
            ship.placedToShipped.p50,
            ship.placedToShipped.p95,
            ship.confirmedToShipped.p50,
            ship.confirmedToShipped.p95,
          ],
        ],
        note: "Shipped = the fulfillment consumer recorded the warehouse's shipment; the simulated warehouse ships FULFILLMENT_SIM_SHIP_DELAY_MS after the request.",
      },
    ],
    charts: [
      {
        title: "Consumer lag (messages) while the orders flow",
        xLabel: "seconds since the first checkout",
        x: thin(run.lagSamples).map((s) => (s.atMs / 1000).toFixed(1)),
        yLabel: "messages behind",
        series: [{ name: "lag, all groups", values: thin(run.lagSamples).map((s) => s.lag) }],
      },
    ],
    checks: [
      {
        name: "every order confirmed",
        ok: (run.statuses.confirmed ?? 0) === count,
        detail: JSON.stringify(run.statuses),
      },
      { name: "every order shipped", ok: ship.shipped === count, detail: `${ship.shipped} of ${count}` },
    ],
    data: { ...run, orderIds: undefined, ship },
  };
};

/** CPU seconds per 1,000 orders of every process of the stack, over the whole run. */
const cpuTable = (run: OrderRun, orders: number): Table => {
  const total = run.cpu.reduce((sum, c) => sum + c.cpuS, 0);
  const per1000 = (s: number) => ((s * 1000) / orders).toFixed(2);
  return {
    title: "CPU per 1,000 orders, by process (first checkout until every order is settled)",
    columns: ["process", "CPU s", "CPU s per 1,000 orders", "share"],
    rows: [
      ...run.cpu.map((c) => [
        c.name,
        c.cpuS.toFixed(1),
        per1000(c.cpuS),
        `${total > 0 ? ((100 * c.cpuS) / total).toFixed(0) : 0}%`,
      ]),
      ["all", total.toFixed(1), per1000(total), "100%"],
    ],
    note: "User + system time from /proc, children included (PostgreSQL backends, workerd under Miniflare). Kafka is the machine's shared broker: anything else using it at the time is counted too. The machine has 2 cores: 2 CPU s per second of wall time is all there is.",
  };
};

/** What PostgreSQL ran per order, the most called statements first. */
const statementsTable = (run: OrderRun): Table => {
  const orders = Math.max(1, run.orderIds.length);
  return {
    title: `PostgreSQL statements per order: ${(run.statements / orders).toFixed(1)} in all; the most called`,
    columns: ["statement", "per order", "mean ms"],
    rows: run.topStatements
      .slice(0, 12)
      .map((s) => [
        `\`${s.query.replace(/\s+/g, " ").replaceAll("|", "\\|").slice(0, 110)}\``,
        (s.calls / orders).toFixed(2),
        (s.totalMs / Math.max(1, s.calls)).toFixed(3),
      ]),
    note: "pg_stat_statements over the run (consumers, the outbox relay, the saga sweep, and the workers' Neon queries); BEGIN and COMMIT count as statements.",
  };
};

/** At most 24 points, so the chart stays readable. */
const thin = <T>(samples: T[]): T[] => {
  const step = Math.max(1, Math.ceil(samples.length / 24));
  return samples.filter((_, i) => i % step === 0);
};

/** Scenario 4: many more checkouts than units; exactly the units are confirmed. */
export const oversellDrill: Scenario = async ({ env, api, quick, log }) => {
  const count = quick ? 100 : 1_000;
  const units = quick ? 10 : 100;
  const connections = quick ? 50 : 100;
  const productId = uniqueProductId("bench_race");
  await api.createProduct(productId, units);
  log(`filling ${count} carts`);
  const carts = await cartsOf(api, productId, count);
  log(`${count} checkouts for ${units} units at ${connections} connections`);
  const run = await placeAndFinish(env, carts, connections, log);
  // Holds turn into sales once payments are captured, just after the orders are final.
  let stock = await api.stock(productId);
  for (let tries = 0; tries < 60 && stock.reserved > 0; tries++) {
    await new Promise((r) => setTimeout(r, 500));
    stock = await api.stock(productId);
  }
  const confirmed = run.statuses.confirmed ?? 0;
  const accepted = run.load.byStatus["202"];
  const refused = run.load.byStatus["409"];
  return {
    id: "oversell",
    title: "Oversell drill at scale",
    conditions: { checkouts: count, units, connections },
    headlines: [
      `${count} checkouts for ${units} units: ${run.orderIds.length} accepted (${confirmed} confirmed, ${run.statuses.cancelled ?? 0} cancelled), ${run.soldOut} answered 409 out_of_stock at once (p50 ${refused?.p50Ms ?? "-"} ms / p99 ${refused?.p99Ms ?? "-"} ms, against p50 ${accepted?.p50Ms ?? "-"} ms / p99 ${accepted?.p99Ms ?? "-"} ms for the accepted); stock left ${stock.available} available / ${stock.reserved} reserved; all final in ${(run.allFinalMs / 1000).toFixed(1)} s.`,
    ],
    tables: [
      {
        title: "Outcome",
        columns: [
          "checkouts",
          "units",
          "accepted (202)",
          "out_of_stock (409)",
          "confirmed",
          "cancelled",
          "available after",
          "reserved after",
          "all final after (s)",
          "retried 503s",
        ],
        rows: [
          [
            count,
            units,
            run.orderIds.length,
            run.soldOut,
            confirmed,
            run.statuses.cancelled ?? 0,
            stock.available,
            stock.reserved,
            (run.allFinalMs / 1000).toFixed(1),
            run.retried,
          ],
        ],
      },
      {
        title: "POST /v1/checkout under the race",
        columns: LOAD_COLUMNS,
        rows: [loadCells(run.load)],
      },
      {
        title: "Latency by answer",
        columns: ["answer", "count", "p50 (ms)", "p99 (ms)"],
        rows: Object.entries(run.load.byStatus).map(([status, s]) => [status, s.count, s.p50Ms, s.p99Ms]),
      },
    ],
    checks: [
      { name: `exactly ${units} confirmed`, ok: confirmed === units, detail: JSON.stringify(run.statuses) },
      {
        name: `the other ${count - units} answered out_of_stock at checkout, none cancelled`,
        ok: run.soldOut === count - units && (run.statuses.cancelled ?? 0) === 0,
        detail: `${run.soldOut} out_of_stock, ${JSON.stringify(run.statuses)}`,
      },
      {
        name: "no stock left, none held",
        ok: stock.available === 0 && stock.reserved === 0,
        detail: JSON.stringify(stock),
      },
    ],
    data: { ...run, orderIds: undefined, stock },
  };
};
