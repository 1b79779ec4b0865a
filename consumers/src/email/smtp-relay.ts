import { and, asc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import { createTransport } from "nodemailer";
import pMap from "p-map";
import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { emails } from "../../../db/schema/index.ts";
import { type Backoff, backoffDelay } from "../runtime/backoff.ts";
import { describeError } from "../runtime/failures.ts";
import { type PassResult, type Pump, startPump } from "../runtime/pump.ts";
import { addressOf } from "./mime.ts";

export interface SmtpRelayOptions {
  db: Db;
  /** e.g. `smtps://user:pass@smtp.example.com:465`; only set where mail may really leave. */
  smtpUrl: string;
  /** The envelope sender (the From mailbox of the stored messages). */
  from: string;
  log: Logger;
  intervalMs?: number;
  /** Connections of the pool, and so emails sent at once (SMTP_MAX_CONNECTIONS). */
  maxConnections?: number;
  /** Connecting, the server's greeting, and silence on an open connection (SMTP_TIMEOUT_MS each). */
  timeoutMs?: number;
  /** A temporary refusal (4xx) is tried again with this backoff; parked after `maxAttempts`. */
  retry?: Backoff & { maxAttempts: number };
}

export type SmtpRelay = Pump;

export const DEFAULT_SMTP_RETRY = { initialMs: 30_000, maxMs: 30 * 60_000, maxAttempts: 10 };

/** How long a sender holds the rows it claimed: longer than a send can take within its timeouts. */
const CLAIM_MS = 5 * 60_000;

/** nodemailer's codes for a server that cannot be reached or spoken to at all: no email's fault. */
const OUTAGE_CODES = new Set([
  "ECONNECTION",
  "ETIMEDOUT",
  "ESOCKET",
  "EDNS",
  "ETLS",
  "EAUTH",
  "ENOAUTH",
  "EPROXY",
]);

type Failure = "outage" | "temporary" | "permanent";

/** What an SMTP error means for the email: a 5xx answer refuses it for good, a 4xx for now. */
const classify = (error: unknown): Failure => {
  const { code, responseCode } = error as { code?: unknown; responseCode?: unknown };
  if (typeof responseCode === "number" && responseCode >= 500) return "permanent";
  if (typeof responseCode === "number" && responseCode >= 400) return "temporary";
  return typeof code === "string" && OUTAGE_CODES.has(code) ? "outage" : "temporary";
};

type Row = { id: string; toAddress: string; body: string; attempts: number };

/**
 * Delivery of the stored emails (only when SMTP_URL is set), several at a time over a pool of SMTP
 * connections with explicit timeouts. Rows are claimed for a while (a conditional update, SKIP
 * LOCKED: replicas share the work), then sent outside any transaction, so no row lock waits on the
 * SMTP server. A sent row records `sent_at`. A message the server refuses for good (5xx) is parked at
 * once; one refused for now (4xx) is tried again with backoff and parked after its last try; parked
 * rows are listed and replayed with `npm run dlq -- parked|unpark --kind emails`. A server that cannot
 * be reached is an outage: no try is counted, the relay backs off. None of these stops the others.
 *
 * Delivery is at least once: a crash between the SMTP answer and the commit sends that email again,
 * with the same Message-ID, which lets mail systems drop the copy.
 */
export const startSmtpRelay = (o: SmtpRelayOptions): SmtpRelay => {
  const maxConnections = o.maxConnections ?? 5;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const retry = o.retry ?? DEFAULT_SMTP_RETRY;
  const transport = createTransport({
    url: o.smtpUrl,
    pool: true,
    maxConnections,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  const envelopeFrom = addressOf(o.from);

  const claim = async (limit: number): Promise<Row[]> => {
    const due = o.db
      .select({ id: emails.id })
      .from(emails)
      .where(
        and(
          isNull(emails.sentAt),
          isNull(emails.parkedAt),
          or(isNull(emails.nextAttemptAt), lte(emails.nextAttemptAt, sql`now()`)),
          or(isNull(emails.claimedUntil), lte(emails.claimedUntil, sql`now()`)),
        ),
      )
      .orderBy(asc(emails.createdAt))
      .limit(limit)
      .for("update", { skipLocked: true });
    return o.db
      .update(emails)
      .set({ claimedUntil: sql`now() + ${CLAIM_MS} * interval '1 millisecond'` })
      .where(inArray(emails.id, due))
      .returning({
        id: emails.id,
        toAddress: emails.toAddress,
        body: emails.body,
        attempts: emails.attempts,
      });
  };

  const recordFailure = async (row: Row, error: unknown, kind: Failure): Promise<number> => {
    const attempts = row.attempts + 1;
    const parked = kind === "permanent" || attempts >= retry.maxAttempts;
    const retryInMs = parked ? Number.POSITIVE_INFINITY : backoffDelay(attempts, retry);
    o.log.warn(
      { err: describeError(error), emailId: row.id, attempts, parked },
      parked
        ? "email refused; parked (npm run dlq -- parked --kind emails)"
        : "email refused for now; trying again later",
    );
    await o.db
      .update(emails)
      .set({
        attempts,
        lastError: describeError(error),
        nextAttemptAt: parked ? null : sql`now() + ${retryInMs} * interval '1 millisecond'`,
        parkedAt: parked ? sql`now()` : null,
        claimedUntil: null,
      })
      .where(eq(emails.id, row.id));
    return retryInMs;
  };

  const pass = async (): Promise<PassResult> => {
    const rows = await claim(maxConnections * 4);
    if (rows.length === 0) return "done";
    const results = await pMap(
      rows,
      async (row) => {
        try {
          await transport.sendMail({ envelope: { from: envelopeFrom, to: [row.toAddress] }, raw: row.body });
          return { row };
        } catch (error) {
          return { row, error };
        }
      },
      { concurrency: maxConnections },
    );
    const sent = results.filter((r) => r.error === undefined).map((r) => r.row.id);
    if (sent.length > 0) {
      await o.db
        .update(emails)
        .set({ sentAt: sql`now()`, claimedUntil: null })
        .where(inArray(emails.id, sent));
      o.log.debug({ sent: sent.length }, "emails sent");
    }
    let outage: unknown;
    let soonest = Number.POSITIVE_INFINITY;
    for (const { row, error } of results) {
      if (error === undefined) continue;
      const kind = classify(error);
      if (kind === "outage") outage ??= error;
      else soonest = Math.min(soonest, await recordFailure(row, error, kind));
    }
    if (outage) {
      // Not the emails' fault: put them back in line as they were.
      const untried = results
        .filter((r) => r.error !== undefined && classify(r.error) === "outage")
        .map((r) => r.row.id);
      await o.db.update(emails).set({ claimedUntil: null }).where(inArray(emails.id, untried));
      o.log.warn(
        { err: describeError(outage), waiting: untried.length },
        "the SMTP server cannot be reached",
      );
      return "outage";
    }
    if (rows.length === maxConnections * 4) return "more";
    return Number.isFinite(soonest) ? { dueInMs: soonest } : "done";
  };

  const pump = startPump({ name: "smtp", log: o.log, intervalMs: o.intervalMs ?? 2_000, pass });
  pump.kick();
  return {
    kick: pump.kick,
    drain: pump.drain,
    stop: async () => {
      await pump.stop();
      transport.close();
    },
  };
};
