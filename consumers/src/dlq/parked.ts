import { and, asc, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import { effects, emails, outbox, parkedEvents } from "../../../db/schema/index.ts";

/**
 * What the pipeline has parked, for an operator: rows given up on after their last try (outbox rows
 * Kafka refused, effects that kept failing, emails the SMTP server refused), and events parked by a
 * consumer (still retried with backoff, or waiting behind one of their key). `replay` puts rows back
 * in line at once, with their tries counted from zero: fix the cause first, or they come back.
 */
export const PARKED_KINDS = ["outbox", "effects", "emails", "events"] as const;
export type ParkedKind = (typeof PARKED_KINDS)[number];

export interface ParkedRow {
  kind: ParkedKind;
  id: string;
  /** The outbox row's topic, the effect's kind, the email's kind, the event's consumer and topic. */
  what: string;
  key: string;
  attempts: number;
  lastError: string | null;
  /** When it was parked (events: when it was parked by its consumer). */
  since: Date;
  /** Events only: `failed`, `dead` or `behind`. */
  reason?: string;
}

export interface ParkedFilter {
  /** The run's topic prefix (KAFKA_TOPIC_PREFIX; effects carry it as their scope). */
  prefix?: string;
  kinds?: readonly ParkedKind[];
  /** Only these ids (with one kind). */
  ids?: readonly string[];
}

const ofPrefix = (column: Parameters<typeof sql>[1], prefix = "") =>
  prefix ? sql`starts_with(${column}, ${prefix})` : undefined;

export const listParked = async (db: Db, f: ParkedFilter = {}): Promise<ParkedRow[]> => {
  const kinds = f.kinds ?? PARKED_KINDS;
  const rows: ParkedRow[] = [];
  const ids = f.ids?.map(Number);
  if (kinds.includes("outbox")) {
    const found = await db
      .select()
      .from(outbox)
      .where(
        and(
          isNull(outbox.publishedAt),
          isNotNull(outbox.parkedAt),
          ofPrefix(outbox.topic, f.prefix),
          ids ? inArray(outbox.id, ids) : undefined,
        ),
      )
      .orderBy(asc(outbox.id));
    rows.push(
      ...found.map((r) => ({
        kind: "outbox" as const,
        id: String(r.id),
        what: r.topic,
        key: r.key,
        attempts: r.attempts,
        lastError: r.lastError,
        since: r.parkedAt ?? r.createdAt,
      })),
    );
  }
  if (kinds.includes("effects")) {
    const found = await db
      .select()
      .from(effects)
      .where(
        and(
          isNotNull(effects.parkedAt),
          eq(effects.scope, f.prefix ?? ""),
          ids ? inArray(effects.id, ids) : undefined,
        ),
      )
      .orderBy(asc(effects.id));
    rows.push(
      ...found.map((r) => ({
        kind: "effects" as const,
        id: String(r.id),
        what: r.kind,
        key: r.key,
        attempts: r.attempts,
        lastError: r.lastError,
        since: r.parkedAt ?? r.createdAt,
      })),
    );
  }
  if (kinds.includes("emails")) {
    const found = await db
      .select()
      .from(emails)
      .where(
        and(
          isNotNull(emails.parkedAt),
          isNull(emails.sentAt),
          f.ids ? inArray(emails.id, [...f.ids]) : undefined,
        ),
      )
      .orderBy(asc(emails.parkedAt));
    rows.push(
      ...found.map((r) => ({
        kind: "emails" as const,
        id: r.id,
        what: `${r.kind} to ${r.toAddress}`,
        key: r.orderId,
        attempts: r.attempts,
        lastError: r.lastError,
        since: r.parkedAt ?? r.createdAt,
      })),
    );
  }
  if (kinds.includes("events")) {
    const found = await db
      .select()
      .from(parkedEvents)
      .where(and(ofPrefix(parkedEvents.topic, f.prefix), ids ? inArray(parkedEvents.id, ids) : undefined))
      .orderBy(asc(parkedEvents.id));
    rows.push(
      ...found.map((r) => ({
        kind: "events" as const,
        id: String(r.id),
        what: `${r.consumer} ${r.topic}[${r.partition}]@${r.offset}`,
        key: r.key,
        attempts: r.attempts,
        lastError: r.lastError,
        since: r.createdAt,
        reason: r.reason,
      })),
    );
  }
  return rows;
};

/**
 * Puts parked rows of one kind back in line now (all of them, or `ids`), tries counted from zero;
 * answers how many. Events: their retry is due now and their retry budget starts again.
 */
export const replayParked = async (
  db: Db,
  kind: ParkedKind,
  f: Pick<ParkedFilter, "prefix" | "ids"> = {},
): Promise<number> => {
  const ids = f.ids?.map(Number);
  const again = { attempts: 0, parkedAt: null, nextAttemptAt: null, lastError: null };
  switch (kind) {
    case "outbox": {
      const rows = await db
        .update(outbox)
        .set(again)
        .where(
          and(
            isNull(outbox.publishedAt),
            isNotNull(outbox.parkedAt),
            ofPrefix(outbox.topic, f.prefix),
            ids ? inArray(outbox.id, ids) : undefined,
          ),
        )
        .returning({ id: outbox.id });
      return rows.length;
    }
    case "effects": {
      const rows = await db
        .update(effects)
        .set(again)
        .where(
          and(
            isNotNull(effects.parkedAt),
            eq(effects.scope, f.prefix ?? ""),
            ids ? inArray(effects.id, ids) : undefined,
          ),
        )
        .returning({ id: effects.id });
      return rows.length;
    }
    case "emails": {
      const rows = await db
        .update(emails)
        .set({ ...again, claimedUntil: null })
        .where(
          and(
            isNotNull(emails.parkedAt),
            isNull(emails.sentAt),
            f.ids ? inArray(emails.id, [...f.ids]) : undefined,
          ),
        )
        .returning({ id: emails.id });
      return rows.length;
    }
    case "events": {
      const rows = await db
        .update(parkedEvents)
        .set({ attempts: 0, firstFailedAt: null, nextAttemptAt: sql`now()`, leaseUntil: null })
        .where(and(ofPrefix(parkedEvents.topic, f.prefix), ids ? inArray(parkedEvents.id, ids) : undefined))
        .returning({ id: parkedEvents.id });
      return rows.length;
    }
  }
};
