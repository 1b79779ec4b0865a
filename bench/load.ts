import { execFile } from "node:child_process";
import { promisify } from "node:util";
import autocannon from "autocannon";
import * as hdr from "hdr-histogram-js";

/** What one load run measured: throughput, latency percentiles (ms) and failures. */
export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Answers outside 2xx. */
  non2xx: number;
  statusCounts: Record<string, number>;
  /** Latency percentiles (ms) of the answers of each status. */
  byStatus: Record<string, { count: number; p50Ms: number; p99Ms: number }>;
}

export interface HttpLoad {
  url: string;
  connections: number;
  /** Seconds to run, or `amount` requests in all. */
  durationS?: number;
  amount?: number;
  method?: autocannon.Request["method"];
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  /** A sequence each connection cycles through (see autocannon's `requests`). */
  requests?: autocannon.Request[];
  /** Called once per connection, e.g. to give it requests of its own (`client.setRequests`). */
  setupClient?: (client: autocannon.Client) => void;
}

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/**
 * Runs autocannon and keeps every response time in an HDR histogram of microseconds, so percentiles
 * have sub-millisecond resolution (autocannon's own histogram counts whole milliseconds, and has no
 * p95).
 */
export const httpLoad = async (o: HttpLoad): Promise<LoadResult> => {
  const micros = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const perStatus = new Map<number, hdr.Histogram>();
  const started = performance.now();
  const options: autocannon.Options = {
    url: o.url,
    connections: o.connections,
    ...(o.amount ? { amount: o.amount } : { duration: o.durationS ?? 5 }),
    timeout: 30,
    ...(o.method ? { method: o.method } : {}),
    ...(o.headers ? { headers: o.headers } : {}),
    ...(o.body ? { body: o.body } : {}),
    // autocannon takes a path only inside `requests`.
    requests: o.requests ?? [{ path: o.path ?? "/" }],
    ...(o.setupClient ? { setupClient: o.setupClient } : {}),
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on("response", (_client, status, _bytes, responseTimeMs) => {
      const value = Math.max(1, Math.round(responseTimeMs * 1000));
      micros.recordValue(value);
      let histogram = perStatus.get(status);
      if (!histogram) {
        histogram = hdr.build({
          lowestDiscernibleValue: 1,
          highestTrackableValue: 600_000_000,
          numberOfSignificantValueDigits: 3,
        });
        perStatus.set(status, histogram);
      }
      histogram.recordValue(value);
    });
  });
  const durationS = (performance.now() - started) / 1000;
  const statusCounts = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats?.count ?? 0]),
  );
  const ms = (p: number) => round(micros.getValueAtPercentile(p) / 1000, 3);
  const out: LoadResult = {
    requests: micros.totalCount,
    durationS: round(durationS),
    rps: round(micros.totalCount / durationS, 1),
    p50Ms: ms(50),
    p95Ms: ms(95),
    p99Ms: ms(99),
    maxMs: round(micros.maxValue / 1000, 3),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    statusCounts,
    byStatus: Object.fromEntries(
      [...perStatus].map(([status, h]) => [
        String(status),
        {
          count: h.totalCount,
          p50Ms: round(h.getValueAtPercentile(50) / 1000, 3),
          p99Ms: round(h.getValueAtPercentile(99) / 1000, 3),
        },
      ]),
    ),
  };
  micros.destroy();
  for (const h of perStatus.values()) h.destroy();
  return out;
};

const run = promisify(execFile);

/**
 * The Redis floor: `redis-benchmark` (shipped with Redis) sends `command` over TCP from
 * `connections` clients; `__rand_int__` in the command becomes a random 12-digit number below
 * `keyspace`.
 */
export const redisLoad = async (o: {
  port: number;
  connections: number;
  requests: number;
  keyspace: number;
  command: string[];
}): Promise<LoadResult> => {
  const started = performance.now();
  const { stdout } = await run(
    "redis-benchmark",
    [
      "-h",
      "127.0.0.1",
      "-p",
      String(o.port),
      "-c",
      String(o.connections),
      "-n",
      String(o.requests),
      "-r",
      String(o.keyspace),
      "--csv",
      ...o.command,
    ],
    { maxBuffer: 1 << 20 },
  );
  const durationS = (performance.now() - started) / 1000;
  const [header, row] = stdout.trim().split("\n").slice(-2);
  const unquote = (line = "") => line.split('","').map((cell) => cell.replace(/^"|"$/g, ""));
  const fields = Object.fromEntries(unquote(header).map((name, i) => [name, unquote(row)[i]]));
  const num = (name: string): number => {
    const value = Number(fields[name]);
    if (!Number.isFinite(value)) throw new Error(`redis-benchmark printed no ${name}: ${stdout}`);
    return value;
  };
  return {
    requests: o.requests,
    durationS: round(durationS),
    rps: num("rps"),
    p50Ms: num("p50_latency_ms"),
    p95Ms: num("p95_latency_ms"),
    p99Ms: num("p99_latency_ms"),
    maxMs: num("max_latency_ms"),
    errors: 0,
    non2xx: 0,
    statusCounts: {},
    byStatus: {},
  };
};
