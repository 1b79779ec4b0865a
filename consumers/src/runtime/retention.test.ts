import { randomUUID } from "node:crypto";
import { eq, inArray } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { outbox, processedEvents } from "../../../db/schema/index.ts";
import { testLog } from "../test-support/kafka.ts";
import { useScratchDatabase } from "../test-support/scratch-database.ts";
import { startRetention } from "./retention.ts";

/** The prune, on a database of this file's own: what is past its retention goes, nothing else. */
const scratch = useScratchDatabase();
const DAY = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms);
let stop: (() => Promise<void>) | undefined;
afterAll(() => stop?.());

describe("retention", () => {
  it("deletes published outbox rows and processed event ids past their retention, in batches, and keeps the rest", async () => {
    const row = (createdAt: Date, publishedAt: Date | null) => ({
      topic: "retention-test",
      key: randomUUID(),
      payload: { eventId: randomUUID() },
      createdAt,
      publishedAt,
    });
    const old = await scratch.db
      .insert(outbox)
      .values(Array.from({ length: 25 }, () => row(ago(3 * DAY), ago(3 * DAY))))
      .returning({ id: outbox.id });
    const kept = await scratch.db
      .insert(outbox)
      .values([row(ago(3 * DAY), null), row(ago(DAY / 2), ago(DAY / 2))])
      .returning({ id: outbox.id });
    const event = (processedAt: Date) => ({ consumer: "retention-test", eventId: randomUUID(), processedAt });
    await scratch.db.insert(processedEvents).values(Array.from({ length: 25 }, () => event(ago(20 * DAY))));
    await scratch.db.insert(processedEvents).values(event(ago(DAY)));

    const pump = startRetention({
      db: scratch.db,
      log: testLog,
      outboxRetentionMs: DAY,
      processedEventsRetentionMs: 14 * DAY,
      intervalMs: 60_000,
      batchSize: 10,
    });
    stop = pump.stop;
    expect(await pump.drain()).toBe("done");

    const left = await scratch.db
      .select({ id: outbox.id })
      .from(outbox)
      .where(
        inArray(
          outbox.id,
          [...old, ...kept].map((r) => r.id),
        ),
      );
    expect(left.map((r) => r.id).sort()).toEqual(kept.map((r) => r.id).sort());
    const events = await scratch.db
      .select({ processedAt: processedEvents.processedAt })
      .from(processedEvents)
      .where(eq(processedEvents.consumer, "retention-test"));
    expect(events).toHaveLength(1);
  });
});
