import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { sleep } from "./backoff.ts";
import { describeError } from "./failures.ts";
import { scopedTransaction, type TxTarget } from "./transaction.ts";
import type { PeriodicTask, TaskContext } from "./types.ts";

export interface TaskDeps extends TxTarget {
  db: Db;
  log: Logger;
  /** After each committed transaction of a task: its outbox rows and effects go out soon. */
  committed(written: { emitted: number; effects: number }): void;
}

/** The context a task runs with: the db, and transactions with `emit` and `effect`. */
export const taskContext = (deps: TaskDeps, log: Logger): TaskContext => ({
  db: deps.db,
  log,
  topicName: deps.topicName,
  async transaction(work) {
    const { value, emitted, effects } = await scopedTransaction(deps.db, log, deps, (scope) =>
      work(scope.ctx),
    );
    deps.committed({ emitted: emitted.length, effects: effects.length });
    return value;
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
    const ctx = taskContext(deps, log);
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
