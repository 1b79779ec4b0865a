import { parseArgs } from "node:util";
import { z } from "zod";
import {
  checkServing,
  type DevExit,
  type DevRun,
  interrupt,
  killLeft,
  occupy,
  startDev,
  waitExit,
} from "./dev-run.ts";
import { deleteRunTopics, runPrefix } from "./kafka/run-topics.ts";

/**
 * `npm run dev:cycle -- --runs 10 [--failing 1]`: starts `npm run dev`, waits until it is ready, checks
 * that it serves (an order goes down the whole pipeline), stops it with Ctrl-C and looks for any
 * process of it left behind; `--failing` more starts are made to fail on purpose (the storefront's
 * port taken), which must also leave nothing. Prints one line per run and exits 1 on any failure.
 */

const Settings = z.object({
  DATABASE_URL: z.url().default("postgres://postgres@127.0.0.1:5432/storefront_dev_cycle"),
  REDIS_URL: z.url().default("redis://127.0.0.1:6379/0"),
  KAFKA_BROKERS: z.string().min(1).default("127.0.0.1:9092"),
});
const settings = Settings.parse(process.env);
const { values } = parseArgs({
  options: { runs: { type: "string", default: "1" }, failing: { type: "string", default: "0" } },
});
const READY_MS = 15 * 60_000;
const STOPPED = [0, "SIGINT"] as const;

const startRun = async (prefix: string): Promise<DevRun> =>
  startDev({
    databaseUrl: settings.DATABASE_URL,
    redisUrl: settings.REDIS_URL,
    kafkaBrokers: settings.KAFKA_BROKERS,
    kafkaTopicPrefix: prefix,
  });

/** A clean stop ends `npm run dev` by the SIGINT (npm re-raises it) or with 0; a failed start with 1. */
const verdict = (exit: DevExit, want: ReadonlyArray<DevExit["code"]>): string[] => {
  const problems: string[] = [];
  if (!want.includes(exit.code)) problems.push(`exit code ${exit.code}, expected ${want.join(" or ")}`);
  if (exit.left.length > 0) {
    problems.push(`${exit.left.length} process(es) left: ${exit.left.map((p) => p.pid).join(", ")}`);
    killLeft(exit.left);
  }
  return problems;
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
let failures = 0;
const report = (label: string, problems: string[], detail: string, run?: DevRun): void => {
  if (problems.length > 0) failures++;
  console.log(`${label}: ${problems.length === 0 ? "ok" : `FAILED (${problems.join("; ")})`}; ${detail}`);
  if (problems.length > 0 && run) console.log(run.proc.tail(40));
};

for (let i = 1; i <= Number(values.runs); i++) {
  const prefix = runPrefix("devcycle");
  const t0 = Date.now();
  const run = await startRun(prefix);
  const problems: string[] = [];
  let detail = "";
  try {
    await run.ready(READY_MS);
    const readyMs = Date.now() - t0;
    await checkServing(run);
    const t1 = Date.now();
    const exit = await interrupt(run);
    problems.push(...verdict(exit, STOPPED));
    detail = `ready in ${seconds(readyMs)}, stopped in ${seconds(Date.now() - t1)}, ${exit.started} processes started, ${exit.left.length} left`;
  } catch (error) {
    problems.push(String(error));
    problems.push(...verdict(await interrupt(run), STOPPED));
  }
  report(`start/stop ${i}`, problems, detail, run);
  await deleteRunTopics(settings.KAFKA_BROKERS.split(","), prefix);
}

for (let i = 1; i <= Number(values.failing); i++) {
  const prefix = runPrefix("devcycle");
  const t0 = Date.now();
  const run = await startRun(prefix);
  // Another program holds the storefront's port: the stack and the checkout worker are up by the
  // time the storefront cannot listen, so the failed start has things to stop.
  const release = await occupy(run.storefrontUrl);
  const exit = await waitExit(run, READY_MS).finally(release);
  const problems = verdict(exit, [1]);
  if (!run.proc.lines().some((line) => line.includes("[dev] storefront"))) {
    problems.push("the output does not name the storefront as what failed");
  }
  // What the run said about the failure, for the report.
  const said = run.proc.lines().filter((line) => line.startsWith("[dev] "));
  console.log(said.slice(said.findIndex((line) => / failed|exited|no progress/.test(line))).join("\n"));
  report(
    `failed start ${i}`,
    problems,
    `exited in ${seconds(Date.now() - t0)}, ${exit.started} processes started, ${exit.left.length} left`,
    run,
  );
  await deleteRunTopics(settings.KAFKA_BROKERS.split(","), prefix);
}
console.log(failures === 0 ? "every run passed" : `${failures} run(s) failed`);
process.exit(failures === 0 ? 0 : 1);
