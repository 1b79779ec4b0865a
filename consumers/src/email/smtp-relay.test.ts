import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:net";
import { inArray } from "drizzle-orm";
import { pino } from "pino";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emails } from "../../../db/schema/index.ts";
import { replayParked } from "../dlq/parked.ts";
import { waitUntil } from "../test-support/kafka.ts";
import { useScratchDatabase } from "../test-support/scratch-database.ts";
import { type SmtpRelay, startSmtpRelay } from "./smtp-relay.ts";

/**
 * Delivery over SMTP to a real SMTP server (the `smtp-server` package, in this process), from a
 * database of this file's own: a refused message is parked and the others go on; a temporary refusal
 * is tried again; a server that is down or hangs is waited for, without counting tries.
 */
const scratch = useScratchDatabase();
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const received: string[] = [];
const temporarilyRefused = new Set<string>();
let server: SMTPServer;
let port = 0;

const startServer = async (listenOn = 0): Promise<number> => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith("refused")) {
        return callback(Object.assign(new Error("mailbox unavailable"), { responseCode: 550 }));
      }
      // Refused for now once: the next try is accepted, however soon it comes.
      if (temporarilyRefused.delete(address.address)) {
        return callback(Object.assign(new Error("try again later"), { responseCode: 451 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      stream.resume();
      stream.on("end", () => {
        received.push(...(session.envelope.rcptTo.map((r) => r.address) ?? []));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(listenOn, "127.0.0.1", resolve));
  return (server.server.address() as AddressInfo).port;
};
const stopServer = () => new Promise<void>((resolve) => server.close(() => resolve()));

let relay: SmtpRelay | undefined;
const startRelay = () => {
  relay = startSmtpRelay({
    db: scratch.db,
    smtpUrl: `smtp://127.0.0.1:${port}`,
    from: "Storefront <orders@storefront.test>",
    log: silent,
    intervalMs: 100,
    maxConnections: 3,
    timeoutMs: 500,
    retry: { initialMs: 50, maxMs: 100, maxAttempts: 3 },
  });
};

beforeAll(async () => {
  port = await startServer();
  startRelay();
});
afterAll(async () => {
  await relay?.stop();
  await stopServer();
});

/** Stores emails as the email consumer does (one per order), to the addresses given. */
const store = async (...to: string[]): Promise<string[]> => {
  const rows = await scratch.db
    .insert(emails)
    .values(
      to.map((address) => ({
        orderId: `ord_${randomUUID().replaceAll("-", "")}`,
        kind: "order_confirmed" as const,
        toAddress: address,
        subject: "Your order",
        body: `From: orders@storefront.test\r\nTo: ${address}\r\nSubject: Your order\r\n\r\nThank you.\r\n`,
      })),
    )
    .returning({ id: emails.id });
  relay?.kick();
  return rows.map((row) => row.id);
};
const rowsOf = (ids: string[]) => scratch.db.select().from(emails).where(inArray(emails.id, ids));
const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}@example.com`;

describe("SMTP delivery", () => {
  it("parks a message the server refuses for good, and delivers the others meanwhile", async () => {
    const refused = unique("refused");
    const fine = Array.from({ length: 8 }, () => unique("shopper"));
    const [refusedId = "", ...fineIds] = await store(refused, ...fine);
    await waitUntil("the others delivered", async () => (await rowsOf(fineIds)).every((row) => row.sentAt));
    expect(received).toEqual(expect.arrayContaining(fine));
    const [parked] = await rowsOf([refusedId]);
    expect(parked).toMatchObject({ sentAt: null, attempts: 1, lastError: expect.stringContaining("550") });
    expect(parked?.parkedAt).not.toBeNull();

    // Replayed by an operator: tried once more, refused once more, parked again.
    expect(await replayParked(scratch.db, "emails", { ids: [refusedId] })).toBe(1);
    relay?.kick();
    await waitUntil("parked again", async () => (await rowsOf([refusedId]))[0]?.attempts === 1);
    expect((await rowsOf([refusedId]))[0]?.parkedAt).not.toBeNull();
  });

  it("tries a temporary refusal again with backoff", async () => {
    const later = unique("later");
    temporarilyRefused.add(later);
    const [id = ""] = await store(later);
    await waitUntil("delivered on a later try", async () => Boolean((await rowsOf([id]))[0]?.sentAt));
    expect((await rowsOf([id]))[0]).toMatchObject({
      attempts: 1,
      parkedAt: null,
      lastError: expect.stringContaining("451"),
    });
    expect(received).toContain(later);
  });

  it("waits for a server that is down or does not answer, without counting tries", async () => {
    await stopServer();
    // Something that accepts connections and never greets: the relay's timeout ends each try.
    let connections = 0;
    const silentServer: Server = createServer(() => {
      connections++;
    });
    await new Promise<void>((resolve) => silentServer.listen(port, "127.0.0.1", resolve));
    const addresses = Array.from({ length: 3 }, () => unique("patient"));
    const ids = await store(...addresses);
    const before = connections;
    // More connections than one pass opens (3 at most): the relay has come back to it at least once.
    await waitUntil("the relay to have tried the silent server again", async () => connections >= before + 4);
    expect((await rowsOf(ids)).map((row) => [row.attempts, row.parkedAt, row.sentAt])).toEqual(
      ids.map(() => [0, null, null]),
    );
    await new Promise<void>((resolve) => silentServer.close(() => resolve()));
    await startServer(port);
    await waitUntil(
      "delivered once the server is back",
      async () => (await rowsOf(ids)).every((r) => r.sentAt),
      60_000,
    );
    expect(received).toEqual(expect.arrayContaining(addresses));
    for (const row of await rowsOf(ids)) expect(row.attempts).toBe(0);
  });
});
