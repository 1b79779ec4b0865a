import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dataDirLayout, ensureKafka, type KafkaHandle } from "./broker.ts";
import { kafkaAnswers, tcpOpen } from "./probe.ts";

// Starts a second, throwaway broker on its own ports and data dir (the shared one on 9092 is left
// alone). Needs Java 17+ and the Maven cache (fetched on first use).
const port = 19_392;
let dataDir = "";
const handles: KafkaHandle[] = [];

afterAll(async () => {
  await Promise.all(handles.map((h) => h.stop()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("ensureKafka", () => {
  it("starts one broker for concurrent callers, reuses it, and stops it", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "kafka-broker-test-"));
    const calls = await Promise.all([1, 2, 3].map(() => ensureKafka({ port, dataDir, partitions: 2 })));
    handles.push(...calls);

    expect(calls.filter((h) => h.startedHere)).toHaveLength(1);
    for (const h of calls) expect(h.brokers).toEqual([`127.0.0.1:${port}`]);
    expect(await kafkaAnswers(`127.0.0.1:${port}`)).toBe(true);

    const layout = dataDirLayout(dataDir);
    const properties = await readFile(layout.serverProperties, "utf8");
    expect(properties).toContain("auto.create.topics.enable=false");
    expect(properties).toContain("num.partitions=2");
    expect(properties).toContain(
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${port + 1}`,
    );
    expect(Number(await readFile(layout.pidFile, "utf8"))).toBeGreaterThan(0);

    const later = await ensureKafka({ port, dataDir });
    expect(later.startedHere).toBe(false);
    await later.stop(); // not ours: does nothing
    expect(await kafkaAnswers(`127.0.0.1:${port}`)).toBe(true);

    await calls.find((h) => h.startedHere)?.stop();
    expect(await tcpOpen("127.0.0.1", port)).toBe(false);
    await expect(readFile(layout.pidFile, "utf8")).rejects.toThrow();
  }, 150_000);

  it("refuses a port that something other than Kafka holds", async () => {
    const { createServer } = await import("node:http");
    const server = createServer((_, res) => res.end("hi"));
    await new Promise<void>((r) => server.listen(19_396, "127.0.0.1", r));
    try {
      await expect(ensureKafka({ port: 19_396, dataDir: join(tmpdir(), "unused") })).rejects.toThrow(
        /not a Kafka broker/,
      );
    } finally {
      server.close();
    }
  });
});
