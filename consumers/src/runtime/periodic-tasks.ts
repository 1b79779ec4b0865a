import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { backoffDelay, DEFAULT_DEPENDENCY_BACKOFF, sleep } from "./backoff.ts";
import { describeError } from "./failures.ts";
import { runAfterCommit, scopedTransaction } from "./transaction.ts";
import type { PeriodicTask, TaskContext } from "./types.ts";

export interface TaskDeps {
  db: Db;
  log: Logger;
  topicName: (topic: string) => string;
  /** After each committed transaction of a task (the outbox relay is kicked there). */
  onCommitted: () => void;
}

/**
 * The context a task runs with: the db, and transactions with `emit` and `afterCommit`. Once a
 * transaction committed, its hooks are retried until they succeed (nothing would run them again:
 * the work is done), with backoff, until `signal` aborts (the consumer stops).
 */
export const taskContext = (deps: TaskDeps, log: Logger, signal?: AbortSignal): TaskContext => ({
  db: deps.db,
  log,
  async transaction(work) {
    const { value, afterCommit: hooks } = await scopedTransaction(deps.db, log, deps.topicName, (scope) =>
      work(scope.ctx),
    );
    deps.onCommitted();
    for (let attempt = 1; ; attempt++) {
      try {
        await runAfterCommit(hooks, { db: deps.db, log });
        return value;
      } catch (error) {
        const wait = backoffDelay(attempt, DEFAULT_DEPENDENCY_BACKOFF);
        log.warn({ err: describeError(error), attempt, waitMs: wait }, "after-commit work failed; retrying");
        if (!(await sleep(wait, signal))) throw error;
      }
    }
  },
});

/**
 * Runs every task every `intervalMs` (a pass starts once the previous one ended) until the returned
 * stop is called; stop waits for the pass in flight. A failing pass is logged and the next one runs
 * on time: a task must be safe to run again from the start.
 */
export const startPeriodicTasks = (tasks: readonly PeriodicTask[], deps: TaskDeps): (() => Promise<void>) => {
  const stopping = new AbortController();
  const loops = tasks.map(async (task) => {
    const log = deps.log.child({ task: task.name });
    const ctx = taskContext(deps, log, stopping.signal);
    while (await sleep(task.intervalMs, stopping.signal)) {
      try {
        await task.run(ctx);
      } catch (error) {
        log.warn({ err: describeError(error) }, "periodic task failed; it runs again at the next interval");
      }
    }
  });
  return async () => {
    stopping.abort();
    await Promise.all(loops);
  };
};
