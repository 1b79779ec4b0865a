import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { processedEvents } from "../../../db/schema/index.ts";
import type { RecordedEffect } from "./effects.ts";
import { dropParked, type ParkInput, parkEvents } from "./parked.ts";
import {
  type DeferredWork,
  type EmittedEvent,
  runDeferred,
  type TxTarget,
  txScope,
  writeRows,
} from "./transaction.ts";
import type { ConsumerDefinition, EventSource, HandlerContext, Subscription } from "./types.ts";

export type ApplyOutcome = "applied" | "duplicate";

/** One event to apply, parsed, with what its subscription's `prepare` step answered (if any). */
export interface EventToApply {
  subscription: Subscription;
  event: unknown;
  eventId: string;
  prepared?: unknown;
  log: Logger;
  source: EventSource;
}

/** Where events are applied: the database, the consumer (processed_events), and the rows' target. */
export interface ApplyTarget extends TxTarget {
  db: Db;
  /** The consumer's name: the `consumer` column of processed_events. */
  consumer: string;
  /** The consumer's `lockFirst` (see ConsumerDefinition), run before the handlers of each transaction. */
  lockFirst?: ConsumerDefinition["lockFirst"];
  /** The consumer's log, for its deferred work (which is every event's). */
  log: Logger;
}

/** What a committed transaction did for one event. */
export interface Applied {
  outcome: ApplyOutcome;
  emitted: EmittedEvent[];
  effects: RecordedEffect[];
}

/** What applying an event id that was already processed gives: nothing. */
export const duplicate = (): Applied => ({ outcome: "duplicate", emitted: [], effects: [] });

/**
 * A handler threw: which event of the transaction (by index), with what it threw as the cause; no
 * index when the transaction's deferred work threw (any of its events may be at fault).
 */
export class HandlerFailure extends Error {
  override readonly name = "HandlerFailure";
  readonly index: number | undefined;
  constructor(index: number | undefined, cause: unknown) {
    super(`handler failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.index = index;
  }
}

/** Parked rows a transaction writes (the lane's) or completes (the retrier's), with its events. */
export interface ParkedChanges {
  park?: readonly ParkInput[];
  unpark?: readonly number[];
}

/**
 * Applies events in ONE transaction: records their ids in processed_events (one statement, whose text
 * is the same for any number of events, so Postgres plans it once per connection) and runs
 * the handler of each id that is new, in order; the effects, the emitted outbox rows, the recorded
 * effects rows and the parked-row changes commit (or roll back) with the ids. A replayed id finds its
 * row and changes nothing. A handler that throws rolls the whole transaction back and is named by a
 * `HandlerFailure` (the lane then applies the others without it).
 */
export const applyEvents = (
  base: ApplyTarget,
  events: readonly EventToApply[],
  parked: ParkedChanges = {},
): Promise<Applied[]> =>
  base.db.transaction(async (tx) => {
    const fresh =
      events.length === 0
        ? []
        : (
            await tx.execute<{ event_id: string }>(sql`
              insert into ${processedEvents} (consumer, event_id)
              select ${base.consumer}, unnest(${sql.param(events.map((e) => e.eventId))}::text[])
              on conflict do nothing
              returning event_id`)
          ).rows;
    const unclaimed = new Set(fresh.map((row) => row.event_id));
    if (base.lockFirst && unclaimed.size > 0) {
      const claimed = events.filter((e) => unclaimed.has(e.eventId));
      await base.lockFirst(
        claimed.map((e) => ({ topic: e.subscription.topic, event: e.event })),
        tx,
      );
    }
    const applied: Applied[] = [];
    const emitted: EmittedEvent[] = [];
    const effects: RecordedEffect[] = [];
    const deferred: DeferredWork = new Map();
    for (const [index, input] of events.entries()) {
      if (!unclaimed.delete(input.eventId)) {
        applied.push(duplicate());
        continue;
      }
      const scope = txScope(tx, input.log, base, deferred);
      const ctx: HandlerContext = { ...scope.ctx, source: input.source };
      try {
        await input.subscription.handle(input.event, ctx, input.prepared);
      } catch (error) {
        throw new HandlerFailure(index, error);
      }
      emitted.push(...scope.emitted);
      effects.push(...scope.effects);
      applied.push({ outcome: "applied", emitted: scope.emitted, effects: scope.effects });
    }
    if (deferred.size > 0) {
      const later = await runDeferred(tx, base.log, base, deferred).catch((error: unknown) => {
        throw new HandlerFailure(events.length === 1 ? 0 : undefined, error);
      });
      emitted.push(...later.emitted);
      effects.push(...later.effects);
      // Counted with the last applied event: the deferred work did it for all of them together.
      const last = applied.findLast((a) => a.outcome === "applied");
      last?.emitted.push(...later.emitted);
      last?.effects.push(...later.effects);
    }
    await writeRows(tx, base.scope, { emitted, effects });
    await parkEvents(tx, parked.park ?? []);
    await dropParked(tx, parked.unpark ?? []);
    return applied;
  });
