import type { Api } from "../../e2e/support/api.ts";
import { SYNC_TOKEN_HEADER } from "../../local/redis-rest/protocol.ts";
import type { BenchEnv } from "../env.ts";
import type { LoadResult } from "../load.ts";

export interface ScenarioContext {
  env: BenchEnv;
  api: Api;
  /** Small sizes and short runs: checks that the scenario still works, measures little. */
  quick: boolean;
  /** Orders for the checkout scenario instead of its default (`--orders N`). */
  orders?: number;
  /** The pipeline scenario's rate (orders/s) and seconds per fixed-rate phase (`--rate`, `--seconds`). */
  rate?: number;
  seconds?: number;
  log: (msg: string) => void;
}

export interface Table {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
  note?: string;
}

/** A line chart: one x axis, one or more series (drawn as Mermaid `xychart-beta`). */
export interface Chart {
  title: string;
  xLabel: string;
  x: Array<string | number>;
  yLabel: string;
  series: Array<{ name: string; values: number[] }>;
}

export interface ScenarioResult {
  id: string;
  title: string;
  /** What the figures were measured under (sizes, concurrency, durations). */
  conditions: Record<string, string | number>;
  /** One-line findings for the report's summary. */
  headlines: string[];
  tables: Table[];
  charts?: Chart[];
  /** Correctness checks the scenario made (a failed one fails the run). */
  checks?: Array<{ name: string; ok: boolean; detail?: string }>;
  /** Raw figures for the JSON results. */
  data: unknown;
}

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioResult>;

/** Runs `work` over `items`, `width` at a time (set-up traffic, not measured). */
export const inBatches = async <T, R>(
  items: readonly T[],
  width: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> => {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    out.push(...(await Promise.all(items.slice(i, i + width).map((item, j) => work(item, i + j)))));
  }
  return out;
};

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** The columns of a load result in tables. */
export const LOAD_COLUMNS = ["req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "non-2xx"];
export const loadCells = (r: LoadResult): Array<string | number> => [
  r.rps,
  r.p50Ms,
  r.p95Ms,
  r.p99Ms,
  r.maxMs,
  r.errors,
  r.non2xx,
];

export const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(1)}×` : "n/a");

/** Commands Redis has processed since it started (INFO stats), to count what a request costs. */
export const redisCommandCount = async (redis: { info(section: string): Promise<string> }): Promise<number> =>
  Number(/total_commands_processed:(\d+)/.exec(await redis.info("stats"))?.[1] ?? 0);

/**
 * Requests the local Upstash REST endpoint has served (its sync token counts them; a pipeline is
 * one): the Redis round trips of the workers. Each call counts itself too.
 */
export const restCallCount = async (
  env: Pick<BenchEnv, "redisRestUrl" | "redisRestToken">,
): Promise<number> => {
  const res = await fetch(env.redisRestUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${env.redisRestToken}`, "content-type": "application/json" },
    body: JSON.stringify(["PING"]),
  });
  await res.arrayBuffer();
  const served = Number(res.headers.get(SYNC_TOKEN_HEADER));
  if (!res.ok || !Number.isInteger(served)) {
    throw new Error(`the Redis REST endpoint answered ${res.status} without a request count`);
  }
  return served;
};
