import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import { outbox } from "../../../db/schema/index.ts";
import type { AfterCommit, Tx, TxContext } from "./types.ts";

/** Namespace (first key) of the per-(topic, key) advisory locks taken by `emit`. */
const EMIT_LOCK_SPACE = 7261;

export interface EmittedEvent {
  topic: string;
  key: string;
  payload: { eventId: string } & Record<string, unknown>;
}

/** A transaction's context and what it collected: the events it emitted and its after-commit hooks. */
export interface TxScope {
  ctx: TxContext;
  emitted: EmittedEvent[];
  afterCommit: AfterCommit[];
}

/**
 * The context handed to code inside one of the runner's transactions. `topicName` maps a topic to
 * the Kafka topic written (the runner's prefix applied).
 */
export const txScope = (tx: Tx, log: Logger, topicName: (topic: string) => string): TxScope => {
  const emitted: EmittedEvent[] = [];
  const afterCommit: AfterCommit[] = [];
  const ctx: TxContext = {
    tx,
    log,
    emit: async (topic, key, payload) => {
      const name = topicName(topic);
      // Transactions emitting for the same topic and key take their outbox ids in commit order,
      // so the relay (which publishes in id order) keeps every key's events in order on Kafka.
      await tx.execute(
        sql`select pg_advisory_xact_lock(${EMIT_LOCK_SPACE}::int, hashtext(${`${name}:${key}`}))`,
      );
      await tx.insert(outbox).values({ topic: name, key, payload });
      emitted.push({ topic: name, key, payload });
    },
    afterCommit: (fn) => {
      afterCommit.push(fn);
    },
  };
  return { ctx, emitted, afterCommit };
};

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
