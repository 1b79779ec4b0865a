import { asc, eq, isNull } from "drizzle-orm";
import { createTransport } from "nodemailer";
import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { emails } from "../../../db/schema/index.ts";
import { describeError } from "../runtime/failures.ts";
import { addressOf } from "./mime.ts";

export interface SmtpRelayOptions {
  db: Db;
  /** e.g. `smtps://user:pass@smtp.example.com:465`; only set where mail may really leave. */
  smtpUrl: string;
  /** The envelope sender (the From mailbox of the stored messages). */
  from: string;
  log: Logger;
  intervalMs?: number;
}

export interface SmtpRelay {
  stop(): Promise<void>;
}

/**
 * Optional delivery of the stored emails (only when SMTP_URL is set): sends each unsent row's MIME
 * message as it was rendered and sets `sent_at`, rows locked with SKIP LOCKED so replicas share the
 * work. Delivery is at least once: a crash between the SMTP answer and the commit sends that email
 * again, with the same Message-ID, which lets mail systems drop the copy.
 */
export const startSmtpRelay = (o: SmtpRelayOptions): SmtpRelay => {
  const transport = createTransport(o.smtpUrl);
  const envelopeFrom = addressOf(o.from);
  let running: Promise<void> | undefined;

  /** Sends one unsent email in its own transaction; false when there was none. */
  const sendOne = (): Promise<boolean> =>
    o.db.transaction(async (tx) => {
      const [row] = await tx
        .select({ id: emails.id, toAddress: emails.toAddress, body: emails.body })
        .from(emails)
        .where(isNull(emails.sentAt))
        .orderBy(asc(emails.createdAt))
        .limit(1)
        .for("update", { skipLocked: true });
      if (!row) return false;
      await transport.sendMail({ envelope: { from: envelopeFrom, to: [row.toAddress] }, raw: row.body });
      await tx.update(emails).set({ sentAt: new Date() }).where(eq(emails.id, row.id));
      return true;
    });

  const tick = (): void => {
    if (running) return;
    running = (async () => {
      try {
        while (await sendOne()) o.log.debug("email sent");
      } catch (error) {
        o.log.warn({ err: describeError(error) }, "SMTP relay pass failed; retrying on the next tick");
      }
    })().finally(() => {
      running = undefined;
    });
  };

  const timer = setInterval(tick, o.intervalMs ?? 2_000);
  tick();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
      transport.close();
    },
  };
};
