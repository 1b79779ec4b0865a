import { eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import { deadLetters, type ParkedEventRow, parkedEvents } from "../../../db/schema/index.ts";
import type { ReadMessage } from "./kafka.ts";
import type { Tx } from "./types.ts";

/**
 * Parked events: an event that fails (a processor timing out, a failing handler) leaves its
 * partition's lane for the `parked_events` table, so the events behind it in the partition flow on;
 * the later events of the same consumer, topic and key are parked behind it, so one order's events
 * are still applied in order. The retrier (parked-retrier.ts) tries the first event of each key with
 * backoff; once it is applied (or dead-lettered), the next one of its key follows.
 *
 * A message's key is its order id (or cart id); a message without one stands for itself.
 */

export const messageKey = (message: ReadMessage, eventId?: string): string =>
  storableText(
    message.key?.toString("utf8") ?? eventId ?? `${message.topic}:${message.partition}:${message.offset}`,
  );

/** What the lane parks: the message as read, why, and (for a failure) what went wrong. */
export interface ParkInput {
  consumer: string;
  message: ReadMessage;
  key: string;
  /** Absent for a message that did not parse. */
  eventId?: string;
  reason: ParkedEventRow["reason"];
  error?: string;
  /** When a failed event is tried again. */
  retryInMs?: number;
}

/** Text Postgres can store: a NUL (which `text` and `jsonb` refuse) becomes U+FFFD. */
export const storableText = (text: string): string => text.replaceAll("\u0000", "\uFFFD");

const headersOf = (message: ReadMessage): Array<[string, string]> =>
  [...message.headerEntries].map(([k, v]) => [
    storableText(k.toString("utf8")),
    storableText(v.toString("utf8")),
  ]);

/** Writes parked rows in the caller's transaction (the one that applies the rest of the batch). */
export const parkEvents = async (tx: Tx, rows: readonly ParkInput[]): Promise<void> => {
  if (rows.length === 0) return;
  await tx.insert(parkedEvents).values(
    rows.map((row) => ({
      consumer: row.consumer,
      topic: row.message.topic,
      key: row.key,
      partition: row.message.partition,
      offset: row.message.offset,
      eventId: row.eventId ?? null,
      value: row.message.value ?? Buffer.alloc(0),
      headers: headersOf(row.message),
      reason: row.reason,
      attempts: row.reason === "behind" ? 0 : 1,
      firstFailedAt: row.reason === "behind" ? null : sql`now()`,
      lastError: row.error === undefined ? null : storableText(row.error),
      nextAttemptAt: sql`now() + ${row.retryInMs ?? 0} * interval '1 millisecond'`,
    })),
  );
};

/** The keys among `keys` with an event of `consumer` parked on `topic` (one query). */
export const parkedKeys = async (
  db: Db,
  consumer: string,
  topic: string,
  keys: readonly string[],
): Promise<Set<string>> => {
  if (keys.length === 0) return new Set();
  const { rows } = await db.execute<{ key: string }>(sql`
    select distinct key from ${parkedEvents}
    where consumer = ${consumer} and topic = ${topic} and key = any(${sql.param([...new Set(keys)])}::text[])`);
  return new Set(rows.map((row) => row.key));
};

/**
 * Claims up to `limit` parked events that are due and first of their key (consumer, topic, key),
 * among topics starting with `topicPrefix`, for `leaseMs`: the claim is a conditional update, so of
 * two retriers (processes) only one gets a row. A retrier that dies leaves its rows to the next
 * claim after the lease.
 */
export const claimDueHeads = async (
  db: Db,
  o: { consumer: string; topicPrefix: string; limit: number; leaseMs: number },
): Promise<ParkedEventRow[]> => {
  const result = await db.execute<Record<string, unknown>>(sql`
    update ${parkedEvents} as p
    set lease_until = now() + ${o.leaseMs} * interval '1 millisecond'
    where p.id in (
      select h.id from (
        select distinct on (topic, key) id, next_attempt_at, lease_until
        from ${parkedEvents}
        where consumer = ${o.consumer} and starts_with(topic, ${o.topicPrefix})
        order by topic, key, id
      ) as h
      where h.next_attempt_at <= now() and (h.lease_until is null or h.lease_until < now())
      order by h.next_attempt_at
      limit ${o.limit}
    )
    and (p.lease_until is null or p.lease_until < now())
    returning p.id`);
  const ids = result.rows.map((row) => Number(row.id));
  if (ids.length === 0) return [];
  return db.select().from(parkedEvents).where(inArray(parkedEvents.id, ids));
};

/**
 * Milliseconds until the consumer's next parked event that is first of its key and not being worked
 * on falls due (undefined: there is none).
 */
export const nextDueInMs = async (
  db: Db,
  o: { consumer: string; topicPrefix: string },
): Promise<number | undefined> => {
  const result = await db.execute<{ ms: number | null }>(sql`
    select extract(epoch from min(h.next_attempt_at) - now()) * 1000 as ms from (
      select distinct on (topic, key) next_attempt_at, lease_until
      from ${parkedEvents}
      where consumer = ${o.consumer} and starts_with(topic, ${o.topicPrefix})
      order by topic, key, id
    ) as h
    where h.lease_until is null or h.lease_until < now()`);
  const ms = result.rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Math.max(0, Number(ms));
};

/** The next parked event of the key after `afterId`, claimed when it is free (see claimDueHeads). */
export const claimNextOfKey = async (
  db: Db,
  row: Pick<ParkedEventRow, "id" | "consumer" | "topic" | "key">,
  leaseMs: number,
): Promise<ParkedEventRow | undefined> => {
  const [next] = await db
    .execute<{ id: string }>(sql`
    update ${parkedEvents} as p
    set lease_until = now() + ${leaseMs} * interval '1 millisecond'
    where p.id = (
      select id from ${parkedEvents}
      where consumer = ${row.consumer} and topic = ${row.topic} and key = ${row.key}
      order by id limit 1
    )
    and p.next_attempt_at <= now() and (p.lease_until is null or p.lease_until < now())
    returning p.id`)
    .then((r) => r.rows);
  if (!next) return undefined;
  const [claimed] = await db
    .select()
    .from(parkedEvents)
    .where(eq(parkedEvents.id, Number(next.id)));
  return claimed;
};

/** A failed try: counted, with its error, tried again after `retryInMs` (the lease ends). */
export const recordParkedFailure = async (
  db: Db,
  id: number,
  o: { countAttempt: boolean; error: string; retryInMs: number; reason?: "failed" | "dead" },
): Promise<void> => {
  await db
    .update(parkedEvents)
    .set({
      reason: o.reason ?? "failed",
      attempts: o.countAttempt ? sql`${parkedEvents.attempts} + 1` : parkedEvents.attempts,
      firstFailedAt: sql`coalesce(${parkedEvents.firstFailedAt}, now())`,
      lastError: storableText(o.error),
      nextAttemptAt: sql`now() + ${o.retryInMs} * interval '1 millisecond'`,
      leaseUntil: null,
    })
    .where(eq(parkedEvents.id, id));
};

/** Removes a parked row that needs no more work (applied elsewhere, or dead-lettered). */
export const dropParked = async (db: Db | Tx, ids: readonly number[]): Promise<void> => {
  if (ids.length === 0) return;
  await db.delete(parkedEvents).where(inArray(parkedEvents.id, [...ids]));
};

/**
 * Drops a parked row whose event the dead-letter topic took, and records the dead letter, in one
 * statement; a row another retrier dropped already records nothing.
 */
export const recordDeadLetter = async (
  db: Db | Tx,
  row: ParkedEventRow,
  letter: { error: string; attempts: number },
): Promise<void> => {
  await db.execute(sql`
    with dropped as (delete from ${parkedEvents} where ${parkedEvents.id} = ${row.id} returning 1)
    insert into ${deadLetters} (consumer, topic, key, event_id, error, attempts)
    select ${row.consumer}, ${row.topic}, ${row.key}, ${row.eventId}, ${storableText(letter.error)},
      ${letter.attempts}::integer
    from dropped`);
};

/** A parked row as the message it was read as (for parsing it again and for its dead letter). */
export const parkedMessage = (row: ParkedEventRow): ReadMessage => ({
  topic: row.topic,
  partition: row.partition,
  offset: row.offset,
  key: Buffer.from(row.key),
  value: Buffer.from(row.value),
  headerEntries: row.headers.map(([k, v]) => [Buffer.from(k), Buffer.from(v)]),
});
