import { setTimeout as sleep } from "node:timers/promises";
import { and, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../../db/node-client.ts";
import { outbox, processedEvents } from "../../../db/schema/index.ts";
import { type Batched, type ConsumerDefinition, subscribe } from "../runtime/types.ts";

/** A consumer for testing the runner: counts its calls, fails on demand, emits on demand. */
export const ProbeEventSchema = z.object({
  eventId: z.string().min(1),
  /** Fail the first `failTimes` calls for this event id. */
  failTimes: z.number().int().min(0).optional(),
  /** Fail the first `transientFailTimes` calls with an error marked `transient: true` (a remote service timing out). */
  transientFailTimes: z.number().int().min(0).optional(),
  /** Fail every call with an error marked `transient: false` (a remote service refusing the request). */
  refused: z.boolean().optional(),
  /** Fail (transient) while the probe's gate of this name is closed (`probe.gates`). */
  gate: z.string().optional(),
  /** Events emitted to `out` (default 1), keyed by `outKey`. */
  emits: z.number().int().min(0).optional(),
  outKey: z.string().optional(),
  delayMs: z.number().int().min(0).optional(),
  /** Fail the first `deferFailTimes` runs of the transaction's deferred work that include this event. */
  deferFailTimes: z.number().int().min(0).optional(),
});
export type ProbeEvent = z.infer<typeof ProbeEventSchema>;

export const PROBE_IN = "work";
export const PROBE_OUT = "out";

export interface Probe {
  def: ConsumerDefinition;
  /** Handler calls per event id (rolled-back calls included). */
  calls: Map<string, number>;
  /** Where each event was read from. */
  sources: Map<string, { partition: number; offset: bigint }>;
  /** Event ids in the order their handler succeeded (a rolled-back success included). */
  succeeded: string[];
  /** Closed gates: events naming one fail (transient) until it is opened (deleted). */
  gates: Set<string>;
  /** How many events each run of the deferred work had (every event defers itself to it). */
  deferredRuns: number[];
}

export const createProbeConsumer = (name: string): Probe => {
  const calls = new Map<string, number>();
  const sources = new Map<string, { partition: number; offset: bigint }>();
  const succeeded: string[] = [];
  const gates = new Set<string>();
  const deferredRuns: number[] = [];
  const deferredCalls = new Map<string, number>();
  const deferred: Batched<ProbeEvent> = {
    name: "probe-deferred",
    async run(events) {
      deferredRuns.push(events.length);
      for (const event of events) {
        const call = (deferredCalls.get(event.eventId) ?? 0) + 1;
        deferredCalls.set(event.eventId, call);
        if (call <= (event.deferFailTimes ?? 0))
          throw new Error(`probe deferred failure of ${event.eventId}`);
      }
    },
  };
  const def: ConsumerDefinition = {
    name,
    subscriptions: [
      subscribe(PROBE_IN, ProbeEventSchema, async (event, ctx) => {
        const call = (calls.get(event.eventId) ?? 0) + 1;
        calls.set(event.eventId, call);
        sources.set(event.eventId, { partition: ctx.source.partition, offset: ctx.source.offset });
        if (event.delayMs) await sleep(event.delayMs);
        if (call <= (event.failTimes ?? 0)) throw new Error(`probe failure ${call} of ${event.eventId}`);
        if (call <= (event.transientFailTimes ?? 0)) {
          throw Object.assign(new Error(`probe timeout ${call} of ${event.eventId}`), { transient: true });
        }
        if (event.refused)
          throw Object.assign(new Error(`probe refused ${event.eventId}`), { transient: false });
        if (event.gate && gates.has(event.gate)) {
          throw Object.assign(new Error(`probe gate ${event.gate} closed`), { transient: true });
        }
        succeeded.push(event.eventId);
        ctx.defer(deferred, event);
        for (let i = 0; i < (event.emits ?? 1); i++) {
          await ctx.emit(PROBE_OUT, event.outKey ?? event.eventId, {
            eventId: `${event.eventId}.${i}`,
            source: event.eventId,
            i,
          });
        }
      }),
    ],
  };
  return { def, calls, sources, succeeded, gates, deferredRuns };
};

/** How many of `eventIds` consumer `name` has recorded as processed. */
export const countProcessed = async (db: Db, name: string, eventIds: string[]): Promise<number> => {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(processedEvents)
    .where(and(eq(processedEvents.consumer, name), inArray(processedEvents.eventId, eventIds)));
  return row?.n ?? 0;
};

/** Outbox rows emitted for `sourceEventId` by the probe, in id order. */
export const outboxRowsOf = async (db: Db, topic: string, sourceEventIds: string[]) =>
  db
    .select({ id: outbox.id, key: outbox.key, payload: outbox.payload, publishedAt: outbox.publishedAt })
    .from(outbox)
    .where(and(eq(outbox.topic, topic), inArray(sql<string>`${outbox.payload}->>'source'`, sourceEventIds)))
    .orderBy(outbox.id);
