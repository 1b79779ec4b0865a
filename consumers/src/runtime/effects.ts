import { and, asc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import pMap from "p-map";
import type { Logger } from "pino";
import type { z } from "zod";
import type { Db } from "../../../db/node-client.ts";
import { effects } from "../../../db/schema/index.ts";
import { type Backoff, backoffDelay, DEFAULT_DEPENDENCY_BACKOFF } from "./backoff.ts";
import { describeError, isDependencyDown } from "./failures.ts";
import { type PassResult, startPump } from "./pump.ts";
import type { Tx } from "./types.ts";

/**
 * Durable side effects: work on another system that must follow a commit (the Redis order status
 * record, the edge stock counter). A handler records one with `ctx.effect(definition, key, payload)`;
 * the row is written in the event's transaction, and the effects relay applies it after the commit
 * and deletes it. So a crash between the commit and the call loses nothing, and while that system is
 * down the rows wait (the relay backs off) and the Postgres side of the saga goes on.
 *
 * An effect must be idempotent, and right whatever order the effects of one key are applied in
 * (the status record never moves back a stage; stock levels carry versions): a relay may apply one
 * twice (a crash after the call) and applies different keys concurrently.
 */
export interface EffectDeps {
  db: Db;
  log: Logger;
}

/** What recording an effect needs: its kind, and the payload's type. */
export interface EffectKind<P = unknown> {
  /** The `kind` column; a relay applies the kinds registered with it. */
  kind: string;
  /** Reads a stored payload (throws when it is not one). */
  parse(payload: unknown): P;
}

export interface EffectDefinition<P = unknown> extends EffectKind<P> {
  apply(key: string, payload: P, deps: EffectDeps): Promise<void>;
}

/** An effect whose payload is declared by `schema` (checked before it is applied). */
export const defineEffect = <S extends z.ZodType>(
  kind: string,
  schema: S,
  apply: (key: string, payload: z.infer<S>, deps: EffectDeps) => Promise<void>,
): EffectDefinition<z.infer<S>> => ({ kind, parse: (payload) => schema.parse(payload), apply });

/** An effect a transaction recorded, written with its other rows at the end of it. */
export interface RecordedEffect {
  kind: string;
  key: string;
  payload: unknown;
}

/** Writes the recorded effects of a transaction in one statement, under the run's `scope`. */
export const writeEffects = async (tx: Tx, scope: string, recorded: readonly RecordedEffect[]) => {
  if (recorded.length === 0) return;
  // One text for any number of rows; ids are taken in the order given.
  await tx.execute(sql`
    insert into ${effects} (scope, kind, key, payload)
    select ${scope}, kind, key, payload
    from unnest(${sql.param(recorded.map((e) => e.kind))}::text[], ${sql.param(recorded.map((e) => e.key))}::text[],
      ${sql.param(recorded.map((e) => JSON.stringify(e.payload)))}::jsonb[]) with ordinality as e(kind, key, payload, n)
    order by n`);
};

export interface EffectsRelayOptions {
  db: Db;
  log: Logger;
  /** The run's Kafka topic prefix (production: ""): only rows written under it are applied here. */
  scope: string;
  /** Polling interval; every commit that recorded effects also kicks the relay. */
  intervalMs?: number;
  batchSize?: number;
  /** Keys applied at once (the effects of one key run one after another). */
  concurrency?: number;
  /** A failing effect (not an outage) is retried with this backoff and parked after `maxAttempts`. */
  retry?: Backoff & { maxAttempts: number };
  /** Waits between passes while the effects' system is down. */
  dependencyBackoff?: Backoff;
  /** How long a kick waits for more commits' effects before its pass (default 10 ms). */
  gatherMs?: number;
}

export interface EffectsRelay {
  /** Makes these kinds applicable by this relay (each consumer registers the effects it records). */
  register(definitions: readonly EffectDefinition[]): void;
  kick(): void;
  /** Applies until nothing due is left; false when a pass hit an outage. */
  flush(): Promise<boolean>;
  stop(): Promise<void>;
}

export const DEFAULT_EFFECT_RETRY = { initialMs: 500, maxMs: 30_000, maxAttempts: 10 };

type Row = Pick<typeof effects.$inferSelect, "id" | "kind" | "key" | "payload" | "attempts">;
type Outcome = { row: Row; error?: unknown };

/**
 * Applies the effects rows of its scope in id order, a batch per transaction (rows locked with
 * SKIP LOCKED, so relays in several processes share the work): applied rows are deleted; a row whose
 * system is down stays as it is and the relay backs off; a row that fails otherwise (a bad payload,
 * a script error) is tried again with backoff and parked after its last try, visible and replayable
 * with `npm run dlq -- parked`.
 */
export const createEffectsRelay = (o: EffectsRelayOptions): EffectsRelay => {
  const batchSize = o.batchSize ?? 200;
  const concurrency = o.concurrency ?? 32;
  const retry = o.retry ?? DEFAULT_EFFECT_RETRY;
  const registry = new Map<string, EffectDefinition>();
  const deps: EffectDeps = { db: o.db, log: o.log };

  const applyRow = async (row: Row): Promise<void> => {
    const definition = registry.get(row.kind);
    if (!definition) throw new Error(`no effect of kind ${row.kind} is registered`);
    await definition.apply(row.key, definition.parse(row.payload), deps);
  };

  /** The rows of each key one after another, keys side by side; stops early on an outage. */
  const applyAll = async (rows: readonly Row[]): Promise<Outcome[]> => {
    const byKey = new Map<string, Row[]>();
    for (const row of rows) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row]);
    let outage = false;
    const outcomes = await pMap(
      byKey.values(),
      async (keyRows: Row[]) => {
        const done: Outcome[] = [];
        for (const row of keyRows) {
          if (outage) break;
          try {
            await applyRow(row);
            done.push({ row });
          } catch (error) {
            if (isDependencyDown(error)) outage = true;
            done.push({ row, error });
          }
        }
        return done;
      },
      { concurrency },
    );
    return outcomes.flat();
  };

  const pass = (): Promise<PassResult> =>
    o.db.transaction(async (tx) => {
      const kinds = [...registry.keys()];
      if (kinds.length === 0) return "done";
      const rows = await tx
        .select({
          id: effects.id,
          kind: effects.kind,
          key: effects.key,
          payload: effects.payload,
          attempts: effects.attempts,
        })
        .from(effects)
        .where(
          and(
            eq(effects.scope, o.scope),
            isNull(effects.parkedAt),
            inArray(effects.kind, kinds),
            or(isNull(effects.nextAttemptAt), lte(effects.nextAttemptAt, sql`now()`)),
          ),
        )
        .orderBy(asc(effects.id))
        .limit(batchSize)
        .for("update", { skipLocked: true });
      if (rows.length === 0) return "done";
      const outcomes = await applyAll(rows);
      const applied = outcomes.filter((x) => x.error === undefined).map((x) => x.row.id);
      if (applied.length > 0) await tx.delete(effects).where(inArray(effects.id, applied));
      let outage = false;
      let soonest = Number.POSITIVE_INFINITY;
      for (const { row, error } of outcomes) {
        if (error === undefined) continue;
        if (isDependencyDown(error)) {
          outage = true;
          continue;
        }
        const attempts = row.attempts + 1;
        const parked = attempts >= retry.maxAttempts;
        const retryInMs = backoffDelay(attempts, retry);
        if (!parked) soonest = Math.min(soonest, retryInMs);
        o.log.warn(
          { err: describeError(error), kind: row.kind, key: row.key, attempts, parked },
          parked ? "effect failed its last try; parked" : "effect failed; retrying later",
        );
        await tx
          .update(effects)
          .set({
            attempts,
            lastError: describeError(error),
            nextAttemptAt: sql`now() + ${retryInMs} * interval '1 millisecond'`,
            parkedAt: parked ? sql`now()` : null,
          })
          .where(eq(effects.id, row.id));
      }
      if (outage) {
        o.log.warn(
          { applied: applied.length, waiting: rows.length - applied.length },
          "effects wait: their system is down",
        );
        return "outage";
      }
      if (rows.length === batchSize) return "more";
      return Number.isFinite(soonest) ? { dueInMs: soonest } : "done";
    });

  const pump = startPump({
    name: "effects",
    log: o.log,
    intervalMs: o.intervalMs ?? 1_000,
    pass,
    backoff: o.dependencyBackoff ?? DEFAULT_DEPENDENCY_BACKOFF,
    // Commits come in bursts under load: one pass applies what a few milliseconds of them recorded.
    gatherMs: o.gatherMs ?? 10,
  });

  return {
    register: (definitions) => {
      for (const definition of definitions) registry.set(definition.kind, definition as EffectDefinition);
    },
    kick: pump.kick,
    flush: async () => (await pump.drain()) !== "outage",
    stop: async () => {
      await pump.stop();
      await pump.drain();
    },
  };
};
