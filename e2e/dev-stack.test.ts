import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { checkServing, interrupt, killLeft, occupy, pidOf, startDev, waitExit } from "../local/dev-run.ts";
import { freePort } from "../local/processes.ts";
import { takeE2eLock } from "./support/pipeline.ts";

/**
 * `npm run dev` as a developer uses it: it starts, serves an order down the whole pipeline, and
 * Ctrl-C leaves no process behind; a start that fails (a port taken) stops what it had started, and
 * so does a process that dies once it runs.
 * (`npm run dev:cycle -- --runs 10 --failing 3` repeats this.) Its own database and a private
 * redis-server on a free port; Kafka topics inside this test run's prefix.
 */
const stack = inject("stack");
const options = async () => {
  const database = new URL(stack.databaseUrl);
  database.pathname = `${database.pathname}_dev`;
  return {
    databaseUrl: database.toString(),
    redisUrl: `redis://127.0.0.1:${await freePort()}`,
    kafkaBrokers: stack.kafkaBrokers,
    kafkaTopicPrefix: `${stack.kafkaTopicPrefix}dev.`,
  };
};

describe("npm run dev", () => {
  let unlock: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    unlock = await takeE2eLock(stack.databaseUrl);
  }, 900_000);
  afterAll(async () => unlock?.());

  it("starts, serves, and stops everything it started on Ctrl-C", async () => {
    const run = await startDev(await options());
    try {
      await run.ready(600_000);
      await checkServing(run);
    } finally {
      const exit = await interrupt(run);
      killLeft(exit.left);
      expect(exit.left).toEqual([]);
      expect([0, "SIGINT"]).toContain(exit.code);
      // npm, the script, both wranglers with their workerd and esbuild, the consumers, redis-server.
      expect(exit.started).toBeGreaterThanOrEqual(8);
    }
  }, 900_000);

  it("names what failed and stops everything when a start fails", async () => {
    const run = await startDev(await options());
    const release = await occupy(run.storefrontUrl);
    const exit = await waitExit(run, 600_000).finally(release);
    killLeft(exit.left);
    expect(exit.left).toEqual([]);
    expect(exit.code).toBe(1);
    expect(run.proc.lines().some((line) => line.startsWith("[dev] storefront "))).toBe(true);
    // The checkout worker and the consumers were running, and were stopped.
    expect(run.proc.lines()).toContain("[dev] stopped");
  }, 900_000);

  it("stops everything when one of its processes dies after the start", async () => {
    const run = await startDev(await options());
    try {
      await run.ready(600_000);
    } catch (error) {
      killLeft((await interrupt(run)).left);
      throw error;
    }
    const consumers = pidOf(run, "consumers/src/main.ts");
    expect(consumers).toBeDefined();
    process.kill(consumers as number, "SIGKILL");
    const exit = await waitExit(run, 300_000);
    killLeft(exit.left);
    expect(exit.left).toEqual([]);
    expect(exit.code).toBe(1);
    expect(run.proc.lines().some((line) => line.startsWith("[dev] consumers exited unexpectedly"))).toBe(
      true,
    );
  }, 900_000);
});
