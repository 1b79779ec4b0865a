import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { outbox } from "../../../db/schema/index.ts";
import { type RecordedEffect, writeEffects } from "./effects.ts";
import type { Batched, Tx, TxContext } from "./types.ts";

/** Namespace (first key) of the per-(topic, key) advisory locks taken before outbox rows are written. */
const EMIT_LOCK_SPACE = 7261;

export interface EmittedEvent {
  topic: string;
  key: string;
  payload: { eventId: string } & Record<string, unknown>;
}

/** Where a unit of work's rows go: the topic names it emits to, and the scope of its effects. */
export interface TxTarget {
  /** The Kafka topic an emitted event is written for (the run's topic prefix applied). */
  topicName: (topic: string) => string;
  /** The scope of recorded effects: the run's topic prefix (see runtime/effects.ts). */
  scope: string;
}

/** One unit of work's view of a transaction: what it emitted and the effects it recorded. */
export interface TxScope {
  ctx: TxContext;
  emitted: EmittedEvent[];
  effects: RecordedEffect[];
}

/** The items a transaction's scopes deferred, per batched work, in the order they were deferred. */
export type DeferredWork = Map<Batched<never>, unknown[]>;

/**
 * The context handed to code inside one of the runner's transactions. `emit`, `effect` and `defer`
 * only collect: the transaction runs the deferred work (`runDeferred`) and then writes what every
 * scope emitted and recorded (`writeRows`), in order. The scopes of one transaction share `deferred`.
 */
export const txScope = (
  tx: Tx,
  log: Logger,
  target: Pick<TxTarget, "topicName">,
  deferred: DeferredWork = new Map(),
): TxScope => {
  const emitted: EmittedEvent[] = [];
  const effects: RecordedEffect[] = [];
  const ctx: TxContext = {
    tx,
    log,
    emit: async (topic, key, payload) => {
      emitted.push({ topic: target.topicName(topic), key, payload });
    },
    effect: (definition, key, payload) => {
      effects.push({ kind: definition.kind, key, payload });
    },
    defer: (batched, item) => {
      const work = batched as Batched<never>;
      const items = deferred.get(work);
      if (items) items.push(item);
      else deferred.set(work, [item]);
    },
  };
  return { ctx, emitted, effects };
};

/**
 * Runs the work the transaction's scopes deferred, each batched work once over its items, in the
 * order the works were first deferred to; answers the scope its runs emitted and recorded in.
 */
export const runDeferred = async (
  tx: Tx,
  log: Logger,
  target: Pick<TxTarget, "topicName">,
  deferred: DeferredWork,
): Promise<TxScope> => {
  const scope = txScope(tx, log, target, deferred);
  for (let next = deferred.entries().next(); !next.done; next = deferred.entries().next()) {
    const [work, items] = next.value;
    deferred.delete(work);
    await (work as Batched<unknown>).run(items, scope.ctx);
  }
  return scope;
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
  // One text for any number of rows; ids are taken in the order given.
  await tx.execute(sql`
    insert into ${outbox} (topic, key, payload)
    select topic, key, payload
    from unnest(${sql.param(emitted.map((e) => e.topic))}::text[], ${sql.param(emitted.map((e) => e.key))}::text[],
      ${sql.param(emitted.map((e) => JSON.stringify(e.payload)))}::jsonb[]) with ordinality as e(topic, key, payload, n)
    order by n`);
};

/** What the end of a transaction writes: the outbox rows, then the effects rows. */
export const writeRows = async (
  tx: Tx,
  scope: string,
  rows: { emitted: readonly EmittedEvent[]; effects: readonly RecordedEffect[] },
): Promise<void> => {
  await writeOutbox(tx, rows.emitted);
  await writeEffects(tx, scope, rows.effects);
};

/**
 * One transaction whose work gets a scope: the events it emits and the effects it records are
 * written before the commit.
 */
export const scopedTransaction = async <T>(
  db: Db,
  log: Logger,
  target: TxTarget,
  work: (scope: TxScope) => Promise<T>,
): Promise<{ value: T; emitted: EmittedEvent[]; effects: RecordedEffect[] }> =>
  db.transaction(async (tx) => {
    const deferred: DeferredWork = new Map();
    const scope = txScope(tx, log, target, deferred);
    const value = await work(scope);
    const later = await runDeferred(tx, log, target, deferred);
    const emitted = [...scope.emitted, ...later.emitted];
    const effects = [...scope.effects, ...later.effects];
    await writeRows(tx, target.scope, { emitted, effects });
    return { value, emitted, effects };
  });
