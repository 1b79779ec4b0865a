import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { pino } from "pino";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listParked, replayParked } from "../consumers/src/dlq/parked.ts";
import { startSmtpRelay } from "../consumers/src/email/index.ts";
import type { Pump } from "../consumers/src/runtime/pump.ts";
import { ensureTopics } from "../consumers/src/topics/ensure-topics.ts";
import { emails, outbox } from "../db/schema/index.ts";
import { uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { waitFor } from "./support/pipeline.ts";
import { readRecords, tally } from "./support/records.ts";

/**
 * One outbox row Kafka refuses (its topic does not exist) and one email the SMTP server refuses for
 * good, in the middle of a stream of orders: every other order, event and email flows; both are
 * parked, listed for an operator, and go out once the cause is fixed and they are replayed.
 */
describe("a poison outbox row and a refused email", () => {
  const e2e = useE2e({ settings: { OUTBOX_MAX_ATTEMPTS: "3", OUTBOX_RETRY_MAX_DELAY_MS: "100" } });
  const delivered: string[] = [];
  let mailboxFixed = false;
  let server: SMTPServer;
  let relay: Pump;

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith("refused") && !mailboxFixed) {
          return callback(Object.assign(new Error("no such mailbox"), { responseCode: 550 }));
        }
        callback();
      },
      onData(stream, session, callback) {
        stream.resume();
        stream.on("end", () => {
          delivered.push(...session.envelope.rcptTo.map((r) => r.address));
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.server.address() as { port: number };
    relay = startSmtpRelay({
      db: e2e.pipeline.db,
      smtpUrl: `smtp://127.0.0.1:${port}`,
      from: "Storefront <orders@storefront.test>",
      log: pino({ level: "silent" }),
      intervalMs: 100,
      timeoutMs: 2_000,
    });
  });
  afterAll(async () => {
    await relay?.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("parks both, lets everything else through, and sends both once fixed and replayed", async () => {
    const prefix = e2e.stack.kafkaTopicPrefix;
    const missingTopic = `${prefix}order-audit-${randomUUID().slice(0, 8)}`;
    const [poison] = await e2e.pipeline.db
      .insert(outbox)
      .values({ topic: missingTopic, key: "poison", payload: { eventId: randomUUID() } })
      .returning({ id: outbox.id });
    const productId = uniqueProductId("e2e_poison");
    await e2e.api.createProduct(productId, 100);
    const refusedAddress = `refused-${randomUUID().slice(0, 8)}@example.com`;
    const addresses = Array.from({ length: 10 }, (_, i) =>
      i === 4 ? refusedAddress : `shopper-${randomUUID().slice(0, 8)}@example.com`,
    );
    const orderIds: string[] = [];
    for (const email of addresses) {
      const answer = await e2e.api.checkout(
        await e2e.api.cartWith(productId, 1),
        "tok_visa",
        randomUUID(),
        email,
      );
      orderIds.push(answer.order?.orderId ?? "");
    }
    const final = await e2e.api.waitFinal(orderIds);
    expect(Object.fromEntries(tally([...final.values()].map((o) => o.status)))).toEqual({ confirmed: 10 });

    await waitFor(
      "every other email delivered, the refused one and the poison row parked",
      async () => {
        const parked = await listParked(e2e.pipeline.db, { prefix, kinds: ["outbox", "emails"] });
        const sentTo = new Set(delivered);
        return (
          addresses.filter((a) => a !== refusedAddress).every((a) => sentTo.has(a)) &&
          parked.some((p) => p.kind === "outbox" && p.id === String(poison?.id)) &&
          parked.some((p) => p.kind === "emails" && p.what.includes(refusedAddress))
        );
      },
      60_000,
    );
    const records = await readRecords(e2e.pipeline.db, orderIds);
    expect(
      orderIds.every((id) => records.payments.get(id) === "captured" && records.emails.get(id) === 1),
    ).toBe(true);

    // Fixed (the topic exists, the mailbox too) and replayed: both go out.
    await ensureTopics(e2e.stack.kafkaBrokers.split(","), [missingTopic], { partitions: 1 });
    mailboxFixed = true;
    expect(await replayParked(e2e.pipeline.db, "outbox", { prefix, ids: [String(poison?.id)] })).toBe(1);
    const [refusedEmail] = await e2e.pipeline.db
      .select({ id: emails.id })
      .from(emails)
      .where(eq(emails.toAddress, refusedAddress));
    expect(await replayParked(e2e.pipeline.db, "emails", { ids: [refusedEmail?.id ?? ""] })).toBe(1);
    relay.kick();
    await waitFor(
      "both sent after the replay",
      async () => {
        const [row] = await e2e.pipeline.db
          .select({ publishedAt: outbox.publishedAt })
          .from(outbox)
          .where(eq(outbox.id, poison?.id ?? 0));
        return Boolean(row?.publishedAt) && delivered.includes(refusedAddress);
      },
      30_000,
    );
  });
});
