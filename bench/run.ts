import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { createApi } from "../e2e/support/api.ts";
import { kafkaVersion } from "../local/kafka/paths.ts";
import { REPO_ROOT } from "../local/stack.ts";
import { startBenchEnv } from "./env.ts";
import { type PreviousRun, type RunInfo, renderReport } from "./report.ts";
import { cartHotPath } from "./scenarios/cart.ts";
import { catalogAtScale } from "./scenarios/catalog-scale.ts";
import { customers } from "./scenarios/customers.ts";
import { flashSale } from "./scenarios/flash-sale.ts";
import { memory } from "./scenarios/memory.ts";
import { checkoutToConfirmed, oversellDrill } from "./scenarios/orders.ts";
import { pipelineAlone } from "./scenarios/pipeline.ts";
import { priceSwitch } from "./scenarios/price-switch.ts";
import type { Scenario, ScenarioResult } from "./scenarios/types.ts";

/** In this order: the million-product seed comes last, as it changes the catalog the others read. */
const SCENARIOS: Record<string, Scenario> = {
  cart: cartHotPath,
  customers,
  "flash-sale": flashSale,
  checkout: checkoutToConfirmed,
  oversell: oversellDrill,
  pipeline: pipelineAlone,
  memory,
  "catalog-scale": catalogAtScale,
  // After catalog-scale, which measures reads with the seed catalog before it seeds its own.
  "price-switch": priceSwitch,
};

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    orders: { type: "string" },
    rate: { type: "string" },
    seconds: { type: "string" },
  },
});
const quick = values.quick ?? false;
const only = values.only?.split(",").map((s) => s.trim());
/** A `--name N` option: undefined when absent; a positive whole number or the run stops. */
const positive = (name: "orders" | "rate" | "seconds"): number | undefined => {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (Number.isInteger(n) && n > 0) return n;
  console.error(`--${name} takes a positive whole number, not ${raw}`);
  process.exit(2);
};
const orders = positive("orders");
const rate = positive("rate");
const seconds = positive("seconds");
const unknown = only?.filter((name) => !SCENARIOS[name]);
if (unknown?.length) {
  console.error(
    `unknown scenario(s) ${unknown.join(", ")}; choose from ${Object.keys(SCENARIOS).join(", ")}`,
  );
  process.exit(2);
}
const selected = Object.entries(SCENARIOS).filter(([name]) => !only || only.includes(name));

const packageVersion = (name: string): string => {
  try {
    return (
      JSON.parse(readFileSync(`${REPO_ROOT}node_modules/${name}/package.json`, "utf8")) as { version: string }
    ).version;
  } catch {
    return "unknown";
  }
};

const log = (msg: string) => console.log(`[bench] ${msg}`);

/** The full run the committed report shows (its raw figures), which this run's report compares with. */
const previousRun = (reportPath: string): PreviousRun | undefined => {
  try {
    const file = /raw figures in \[`(results\/[^`]+\.json)`\]/.exec(readFileSync(reportPath, "utf8"))?.[1];
    if (!file) return undefined;
    const raw = JSON.parse(readFileSync(`${REPO_ROOT}bench/${file}`, "utf8")) as Omit<PreviousRun, "file">;
    return { file, info: raw.info, results: raw.results };
  } catch (error) {
    log(`no previous run to compare with: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
};
const startedAt = new Date();
const env = await startBenchEnv({ seedCount: 1_000 });
const results: ScenarioResult[] = [];
let failed = false;
try {
  const api = createApi(env.url, env.adminToken);
  for (const [name, scenario] of selected) {
    const t0 = performance.now();
    log(`scenario ${name}...`);
    try {
      const result = await scenario({
        env,
        api,
        quick,
        orders,
        rate,
        seconds,
        log: (msg) => log(`  ${msg}`),
      });
      results.push(result);
      for (const check of result.checks ?? []) if (!check.ok) failed = true;
      log(`scenario ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      for (const line of result.headlines) log(`  ${line}`);
    } catch (error) {
      failed = true;
      log(
        `scenario ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
  }

  const redis = new Redis(env.redisUrl);
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info("server"))?.[1] ?? "unknown";
  redis.disconnect();
  const client = new pg.Client({ connectionString: env.databaseUrl });
  await client.connect();
  const postgresVersion =
    (await client.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]?.v ??
    "unknown";
  await client.end();
  const cpu = cpus();
  const info: RunInfo = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    quick,
    ...(orders ? { orders } : {}),
    machine: {
      CPU: `${cpu.length} × ${cpu[0]?.model ?? "unknown"}`,
      memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
      Node: process.version,
    },
    versions: {
      workerd: packageVersion("workerd"),
      miniflare: packageVersion("miniflare"),
      wrangler: packageVersion("wrangler"),
      autocannon: packageVersion("autocannon"),
      Redis: redisVersion,
      PostgreSQL: postgresVersion,
      Kafka: kafkaVersion(),
    },
  };
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  // Quick and partial runs stay out of the committed report (bench/REPORT.md is a full run).
  const dir = quick || only || orders ? `${REPO_ROOT}.local/bench` : `${REPO_ROOT}bench`;
  mkdirSync(`${dir}/results`, { recursive: true });
  const previous = dir === `${REPO_ROOT}bench` ? previousRun(`${dir}/REPORT.md`) : undefined;
  const resultsFile = `results/${stamp}.json`;
  writeFileSync(`${dir}/${resultsFile}`, `${JSON.stringify({ info, results }, null, 2)}\n`);
  writeFileSync(`${dir}/REPORT.md`, renderReport(info, results, resultsFile, previous));
  log(`wrote ${dir}/${resultsFile} and ${dir}/REPORT.md`);
} finally {
  await env.close();
}
log(failed ? "some scenarios failed or a check did not hold" : "all scenarios ran and every check held");
process.exit(failed ? 1 : 0);
