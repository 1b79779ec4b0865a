import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { outbox } from "../../../db/schema/index.ts";
import type { AfterCommit, Tx, TxContext } from "./types.ts";

/** Namespace (first key) of the per-(topic, key) advisory locks taken before outbox rows are written. */
const EMIT_LOCK_SPACE = 7261;

export interface EmittedEvent {
  topic: string;
  key: string;
  payload: { eventId: string } & Record<string, unknown>;
}

/** One unit of work's view of a transaction: what it emitted and the hooks it registered. */
export interface TxScope {
  ctx: TxContext;
  emitted: EmittedEvent[];
  afterCommit: AfterCommit[];
}

/**
 * The context handed to code inside one of the runner's transactions. `emit` only collects: the
 * transaction writes what every scope emitted at its end (`writeOutbox`), in emit order. `topicName`
 * maps a topic to the Kafka topic written (the runner's prefix applied).
 */
export const txScope = (tx: Tx, log: Logger, topicName: (topic: string) => string): TxScope => {
  const emitted: EmittedEvent[] = [];
  const afterCommit: AfterCommit[] = [];
  const ctx: TxContext = {
    tx,
    log,
    emit: async (topic, key, payload) => {
      emitted.push({ topic: topicName(topic), key, payload });
    },
    afterCommit: (fn) => {
      afterCommit.push(fn);
    },
  };
  return { ctx, emitted, afterCommit };
};

/**
 * Writes the emitted events as outbox rows, in order, with two statements however many there are.
 * Transactions emitting for the same topic and key take their outbox ids in commit order (the
 * advisory lock per topic and key, held until commit), so the relay, which publishes in id order,
 * keeps every key's events in order on Kafka. The locks are taken in one sorted pass, so two
 * transactions never wait on each other's locks in opposite orders.
 */
export const writeOutbox = async (tx: Tx, emitted: readonly EmittedEvent[]): Promise<void> => {
  if (emitted.length === 0) return;
  const names = [...new Set(emitted.map((e) => `${e.topic}:${e.key}`))].sort();
  await tx.execute(
    sql`select pg_advisory_xact_lock(${EMIT_LOCK_SPACE}::int, hashtext(name))
        from unnest(${sql.param(names)}::text[]) as name order by name`,
  );
  await tx.insert(outbox).values(emitted.map((e) => ({ topic: e.topic, key: e.key, payload: e.payload })));
};

/**
 * One transaction whose work gets a scope: the events it emits become outbox rows before the
 * commit; its after-commit hooks are returned (they exist only if the transaction committed).
 */
export const scopedTransaction = async <T>(
  db: Db,
  log: Logger,
  topicName: (topic: string) => string,
  work: (scope: TxScope) => Promise<T>,
): Promise<{ value: T; emitted: EmittedEvent[]; afterCommit: AfterCommit[] }> =>
  db.transaction(async (tx) => {
    const scope = txScope(tx, log, topicName);
    const value = await work(scope);
    await writeOutbox(tx, scope.emitted);
    return { value, emitted: scope.emitted, afterCommit: scope.afterCommit };
  });

/**
 * Runs the hooks in order, removing each one that succeeded, so a retry after a failure runs only
 * those not done yet.
 */
export const runAfterCommit = async (
  hooks: AfterCommit[],
  deps: Parameters<AfterCommit>[0],
): Promise<void> => {
  for (let hook = hooks[0]; hook; hook = hooks[0]) {
    await hook(deps);
    hooks.shift();
  }
};
