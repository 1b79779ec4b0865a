import { afterAll, beforeAll, inject } from "vitest";
import type { ConsumerDefinition } from "../../consumers/src/runtime/types.ts";
import type { TestStackContext } from "../../local/test-context.ts";
import { startWorkers, type Workers } from "../../local/workers.ts";
import { type Api, createApi } from "./api.ts";
import { type Pipeline, startPipeline, takeE2eLock } from "./pipeline.ts";

export interface E2e {
  stack: TestStackContext;
  workers: Workers;
  pipeline: Pipeline;
  api: Api;
}

/**
 * The set-up of an end-to-end file: its turn on the shared topics (the e2e lock), both workers in
 * Miniflare, the consumers in-process (`pipeline` options) plus `extras` (a recorder), and a client
 * of the public API; all stopped after the file. The fields are there once `beforeAll` has run.
 */
export const useE2e = (
  options: Pick<Parameters<typeof startPipeline>[0], "options" | "only" | "settings"> & {
    extras?: ConsumerDefinition[];
    /** Services to use instead of the stack's (a drill's throwaway Redis or PostgreSQL). */
    services?: Partial<TestStackContext>;
  } = {},
): E2e => {
  const stack = { ...inject("stack"), ...options.services };
  const e2e = { stack } as E2e;
  let unlock: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    unlock = await takeE2eLock(inject("stack").databaseUrl);
    e2e.workers = await startWorkers(stack);
    e2e.pipeline = await startPipeline({
      databaseUrl: stack.databaseUrl,
      redisUrl: stack.redisUrl,
      brokers: stack.kafkaBrokers.split(","),
      topicPrefix: stack.kafkaTopicPrefix,
      ...options,
    });
    for (const def of options.extras ?? []) await e2e.pipeline.startExtra(def);
    e2e.api = createApi(e2e.workers.url, stack.adminToken);
  }, 300_000);
  afterAll(async () => {
    await e2e.pipeline?.close();
    await e2e.workers?.dispose();
    await unlock?.();
  });
  return e2e;
};
