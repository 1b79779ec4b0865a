import type autocannon from "autocannon";
import { Redis } from "ioredis";
import { seedProductId } from "../../db/seed-data.ts";
import { CART_TTL_MS, MAX_LINE_QTY, MAX_LINES } from "../../workers/edge/cart/schemas.ts";
import { ADD_ITEM, CREATE, READ, SET_QTY } from "../../workers/edge/cart/scripts.ts";
import { productKey } from "../../workers/edge/catalog/service.ts";
import { httpLoad, type LoadResult, redisLoad } from "../load.ts";
import {
  inBatches,
  LOAD_COLUMNS,
  loadCells,
  range,
  ratio,
  redisCommandCount,
  restCallCount,
  type Scenario,
  type ScenarioResult,
} from "./types.ts";

const json = { "content-type": "application/json" };
/** Keys `cart:000000000000`… as redis-benchmark's `__rand_int__` writes them. */
const floorKey = (i: number): string => `cart:${String(i).padStart(12, "0")}`;

/**
 * Scenario 1: a mix of cart reads, adds and quantity changes (each connection cycles read → add 1 →
 * set quantity back to 1 on a cart of its own) at several concurrencies, through three layers:
 * the storefront worker (HTTP → Hono → @upstash/redis → REST endpoint → Redis), the Upstash REST
 * endpoint alone (the same script calls the worker sends), and Redis over TCP (redis-benchmark
 * running the same scripts: the floor).
 */
/** Columns and cells of a load through the worker, with what each request cost Redis. */
const WORKER_COLUMNS = [
  "connections",
  ...LOAD_COLUMNS,
  "Redis round trips per request",
  "Redis commands per request (incl. inside scripts)",
];
const workerRow = (connections: number, load: LoadResult, trips: number, commands: number) => [
  connections,
  ...loadCells(load),
  trips.toFixed(2),
  commands.toFixed(1),
];

export const cartHotPath: Scenario = async ({ env, api, quick, log }) => {
  const concurrencies = quick ? [1, 16] : [1, 16, 64, 256];
  const durationS = quick ? 1 : 6;
  const floorRequests = (c: number) => (quick ? 2_000 : c === 1 ? 20_000 : 60_000);
  const redis = new Redis(env.redisUrl);
  const sha = {
    read: String(await redis.script("LOAD", READ)),
    add: String(await redis.script("LOAD", ADD_ITEM)),
    setQty: String(await redis.script("LOAD", SET_QTY)),
  };
  // The scripts' keys and arguments as the worker sends them: the cart, a limit counter (no limit
  // here: 0), the product's catalog entry; the product's currency given, so no catalog read.
  const addArgs = (key: string, productId: string, maxQty: number) => [
    3,
    key,
    "rl:none",
    productKey(productId),
    CART_TTL_MS,
    productId,
    1,
    maxQty,
    MAX_LINES,
    "USD",
    0,
    0,
  ];
  const setQtyArgs = (key: string, productId: string, qty: number) => [
    3,
    key,
    "rl:none",
    productKey(productId),
    CART_TTL_MS,
    productId,
    qty,
    MAX_LINES,
    "USD",
    0,
    0,
  ];
  const keyspace = 1_000;
  const products = [seedProductId(0), seedProductId(1), seedProductId(2)];
  await inBatches(range(keyspace), 100, async (i) => {
    await redis.eval(CREATE, 2, floorKey(i), "rl:none", CART_TTL_MS, 0, 0);
    for (const p of products) await redis.call("EVAL", ADD_ITEM, ...addArgs(floorKey(i), p, MAX_LINE_QTY));
  });

  const rows: Array<{
    connections: number;
    workerRead: LoadResult;
    worker: LoadResult;
    /** Redis commands per request through the worker (reads only, and the mix). */
    commandsPerRead: number;
    commandsPerMixed: number;
    /** Redis round trips (REST requests) per request through the worker. */
    tripsPerRead: number;
    tripsPerMixed: number;
    restRead: LoadResult;
    rest: LoadResult;
    tcp: { read: LoadResult; add: LoadResult; setQty: LoadResult };
  }> = [];
  for (const connections of concurrencies) {
    log(`cart mix at ${connections} connections`);
    // The worker: carts made through the API, three lines each, one per connection.
    const carts = await inBatches(range(connections), 32, async (i) => {
      const cartId = await api.cartWith(seedProductId(10 + (i % 50)), 1);
      return cartId;
    });
    let nextReader = 0;
    const readStart = await redisCommandCount(redis);
    const readTrips = await restCallCount(env);
    const workerRead = await httpLoad({
      url: env.url,
      connections,
      durationS,
      setupClient: (client) => {
        client.setRequests([{ method: "GET", path: `/v1/carts/${carts[nextReader++ % carts.length]}` }]);
      },
    });
    const commandsPerRead = ((await redisCommandCount(redis)) - readStart - 1) / workerRead.requests;
    const tripsPerRead = ((await restCallCount(env)) - readTrips - 1) / workerRead.requests;
    let next = 0;
    const mixStart = await redisCommandCount(redis);
    const mixTrips = await restCallCount(env);
    const worker = await httpLoad({
      url: env.url,
      connections,
      durationS,
      setupClient: (client) => {
        const i = next++;
        const cartId = carts[i % carts.length];
        const productId = seedProductId(100 + (i % 200));
        client.setRequests([
          { method: "GET", path: `/v1/carts/${cartId}` },
          {
            method: "POST",
            path: `/v1/carts/${cartId}/items`,
            headers: json,
            body: JSON.stringify({ productId, qty: 1 }),
          },
          {
            method: "PUT",
            path: `/v1/carts/${cartId}/items/${productId}`,
            headers: json,
            body: JSON.stringify({ qty: 1 }),
          },
        ]);
      },
    });

    const commandsPerMixed = ((await redisCommandCount(redis)) - mixStart - 1) / worker.requests;
    const tripsPerMixed = ((await restCallCount(env)) - mixTrips - 1) / worker.requests;
    // The REST endpoint alone: the worker's script calls, as @upstash/redis sends them.
    const restCall = (command: Array<string | number>): autocannon.Request => ({
      method: "POST",
      path: "/",
      headers: { authorization: `Bearer ${env.redisRestToken}`, ...json },
      body: JSON.stringify(command.map(String)),
    });
    let nextRestReader = 0;
    const restRead = await httpLoad({
      url: env.redisRestUrl,
      connections,
      durationS,
      setupClient: (client) => {
        const key = floorKey(nextRestReader++ % keyspace);
        client.setRequests([restCall(["EVALSHA", sha.read, 1, key, CART_TTL_MS])]);
      },
    });
    let nextRest = 0;
    const rest = await httpLoad({
      url: env.redisRestUrl,
      connections,
      durationS,
      setupClient: (client) => {
        const key = floorKey(nextRest++ % keyspace);
        const productId = seedProductId(100 + (nextRest % 200));
        client.setRequests([
          restCall(["EVALSHA", sha.read, 1, key, CART_TTL_MS]),
          restCall(["EVALSHA", sha.add, ...addArgs(key, productId, MAX_LINE_QTY)]),
          restCall(["EVALSHA", sha.setQty, ...setQtyArgs(key, productId, 1)]),
        ]);
      },
    });

    // The floor: the same scripts over TCP, one operation per redis-benchmark run.
    const floor = (command: Array<string | number>) =>
      redisLoad({
        port: env.redisPort,
        connections,
        requests: floorRequests(connections),
        keyspace,
        command: command.map(String),
      });
    const randomKey = "cart:__rand_int__";
    const tcp = {
      read: await floor(["EVALSHA", sha.read, 1, randomKey, CART_TTL_MS]),
      // No quantity limit here: redis-benchmark repeats one command, it cannot set quantities back.
      add: await floor(["EVALSHA", sha.add, ...addArgs(randomKey, products[0] ?? "", 1e12)]),
      setQty: await floor(["EVALSHA", sha.setQty, ...setQtyArgs(randomKey, products[1] ?? "", 2)]),
    };
    rows.push({
      connections,
      workerRead,
      worker,
      commandsPerRead,
      commandsPerMixed,
      tripsPerRead,
      tripsPerMixed,
      restRead,
      rest,
      tcp,
    });
  }
  redis.disconnect();

  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const tcpMix = (r: (typeof rows)[number]) => {
    const ops = [r.tcp.read, r.tcp.add, r.tcp.setQty];
    return {
      rps: 1 / mean(ops.map((o) => 1 / o.rps)),
      p50Ms: mean(ops.map((o) => o.p50Ms)),
      p99Ms: mean(ops.map((o) => o.p99Ms)),
    };
  };
  const last = rows[rows.length - 1];
  const headlines = last
    ? [
        `Cart mix through the worker at ${last.connections} connections: ${last.worker.rps} req/s, p99 ${last.worker.p99Ms} ms (REST endpoint alone: p99 ${last.rest.p99Ms} ms; Redis TCP: p99 ${tcpMix(last).p99Ms.toFixed(2)} ms).`,
      ]
    : [];
  const result: ScenarioResult = {
    id: "cart",
    title: "Cart hot path",
    conditions: {
      connections: concurrencies.join(", "),
      "HTTP run per cell (s)": durationS,
      "redis-benchmark requests per op": concurrencies.map(floorRequests).join(", "),
      mix: "per connection: GET cart → POST item (qty 1) → PUT qty 1, on a cart of its own",
    },
    headlines,
    tables: [
      {
        title: "Storefront worker: cart mix",
        columns: WORKER_COLUMNS,
        rows: rows.map((r) => workerRow(r.connections, r.worker, r.tripsPerMixed, r.commandsPerMixed)),
        note: "Every add and quantity change also publishes cart-updated to Kafka (through the Kafka REST service) in the background of the request.",
      },
      {
        title: "Storefront worker: cart reads only",
        columns: WORKER_COLUMNS,
        rows: rows.map((r) => workerRow(r.connections, r.workerRead, r.tripsPerRead, r.commandsPerRead)),
      },
      {
        title: "Upstash REST endpoint alone: the mix's script calls",
        columns: ["connections", ...LOAD_COLUMNS],
        rows: rows.map((r) => [r.connections, ...loadCells(r.rest)]),
      },
      {
        title: "Upstash REST endpoint alone: cart read script only",
        columns: ["connections", ...LOAD_COLUMNS],
        rows: rows.map((r) => [r.connections, ...loadCells(r.restRead)]),
      },
      {
        title: "Redis over TCP (redis-benchmark, per operation)",
        columns: ["connections", "operation", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        rows: rows.flatMap((r) =>
          (["read", "add", "setQty"] as const).map((op) => [
            r.connections,
            op,
            r.tcp[op].rps,
            r.tcp[op].p50Ms,
            r.tcp[op].p95Ms,
            r.tcp[op].p99Ms,
            r.tcp[op].maxMs,
          ]),
        ),
      },
      {
        title: "What each layer costs (ratios in the same run)",
        columns: [
          "connections",
          "ops",
          "worker ÷ REST p50",
          "worker ÷ REST p99",
          "REST ÷ TCP p50",
          "REST ÷ TCP p99",
          "worker ÷ TCP p99",
          "TCP ÷ REST req/s",
          "REST ÷ worker req/s",
        ],
        rows: rows.flatMap((r) => {
          const t = tcpMix(r);
          return [
            [
              r.connections,
              "mix",
              ratio(r.worker.p50Ms, r.rest.p50Ms),
              ratio(r.worker.p99Ms, r.rest.p99Ms),
              ratio(r.rest.p50Ms, t.p50Ms),
              ratio(r.rest.p99Ms, t.p99Ms),
              ratio(r.worker.p99Ms, t.p99Ms),
              ratio(t.rps, r.rest.rps),
              ratio(r.rest.rps, r.worker.rps),
            ],
            [
              r.connections,
              "read",
              ratio(r.workerRead.p50Ms, r.restRead.p50Ms),
              ratio(r.workerRead.p99Ms, r.restRead.p99Ms),
              ratio(r.restRead.p50Ms, r.tcp.read.p50Ms),
              ratio(r.restRead.p99Ms, r.tcp.read.p99Ms),
              ratio(r.workerRead.p99Ms, r.tcp.read.p99Ms),
              ratio(r.tcp.read.rps, r.restRead.rps),
              ratio(r.restRead.rps, r.workerRead.rps),
            ],
          ];
        }),
        note: "The TCP figures of the mix are the means of its three operations (redis-benchmark runs one command at a time); a worker request makes more than one Redis call (rate limit, catalog lookup on add, the cart script).",
      },
    ],
    charts: [
      {
        title: "Cart mix p99 latency (ms) against connections",
        xLabel: "connections",
        x: concurrencies,
        yLabel: "p99 ms",
        series: [
          { name: "worker", values: rows.map((r) => r.worker.p99Ms) },
          { name: "worker, reads only", values: rows.map((r) => r.workerRead.p99Ms) },
          { name: "REST endpoint", values: rows.map((r) => r.rest.p99Ms) },
          { name: "Redis TCP", values: rows.map((r) => Number(tcpMix(r).p99Ms.toFixed(3))) },
        ],
      },
      {
        title: "Cart mix p50 latency (ms) against connections",
        xLabel: "connections",
        x: concurrencies,
        yLabel: "p50 ms",
        series: [
          { name: "worker", values: rows.map((r) => r.worker.p50Ms) },
          { name: "REST endpoint", values: rows.map((r) => r.rest.p50Ms) },
          { name: "Redis TCP", values: rows.map((r) => Number(tcpMix(r).p50Ms.toFixed(3))) },
        ],
      },
    ],
    checks: [
      {
        name: "no failed cart requests through the worker",
        ok: rows.every((r) =>
          [r.worker, r.workerRead, r.rest, r.restRead].every((l) => l.errors === 0 && l.non2xx === 0),
        ),
        detail: rows.map((r) => `${r.connections}: ${JSON.stringify(r.worker.statusCounts)}`).join("; "),
      },
    ],
    data: rows,
  };
  return result;
};
