import { Admin } from "@platformatic/kafka";
import { CONSUMER_NAMES } from "../consumers/src/registry.ts";
import { kafkaClientOptions } from "../consumers/src/runtime/kafka.ts";
import { consumerGroupId, TOPICS } from "../domain/topics.ts";

/**
 * Consumer lag of one run's consumer groups (on its topics, both named with the run's `prefix`): for every partition a group has a committed offset on,
 * the messages between it and the end of the partition, summed over groups. Sampled while orders
 * flow, its peak says how far the consumers fell behind.
 */
export const createLagSampler = (brokers: string[], prefix: string) => {
  const admin = new Admin({ ...kafkaClientOptions(brokers), clientId: `${prefix}lag` });
  const topics = Object.values(TOPICS).map((topic) => `${prefix}${topic}`);
  let partitions: Map<string, number[]> | undefined;

  const sample = async (): Promise<number> => {
    if (!partitions) {
      const metadata = await admin.metadata({ topics });
      partitions = new Map(
        topics.map((t) => [
          t,
          Array.from({ length: metadata.topics.get(t)?.partitionsCount ?? 0 }, (_, i) => i),
        ]),
      );
    }
    const known = partitions;
    const ends = await admin.listOffsets({
      topics: topics.map((name) => ({
        name,
        partitions: (known.get(name) ?? []).map((partitionIndex) => ({ partitionIndex, timestamp: -1n })),
      })),
    });
    const end = new Map(
      ends.flatMap((t) => t.partitions.map((p) => [`${t.name}:${p.partitionIndex}`, p.offset] as const)),
    );
    const groups = await admin.listConsumerGroupOffsets({
      groups: CONSUMER_NAMES.map((name) => ({
        groupId: consumerGroupId(name, prefix),
        topics: topics.map((t) => ({ name: t, partitionIndexes: known.get(t) ?? [] })),
      })),
    });
    let lag = 0n;
    for (const group of groups) {
      for (const topic of group.topics) {
        for (const p of topic.partitions) {
          if (p.committedOffset < 0n) continue;
          const last = end.get(`${topic.name}:${p.partitionIndex}`) ?? p.committedOffset;
          if (last > p.committedOffset) lag += last - p.committedOffset;
        }
      }
    }
    return Number(lag);
  };

  /** Samples every `everyMs` until stopped; answers the peak and the samples. */
  const watch = (everyMs = 250) => {
    const samples: Array<{ atMs: number; lag: number }> = [];
    const started = performance.now();
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          samples.push({ atMs: Math.round(performance.now() - started), lag: await sample() });
        } catch {
          // A sample lost to a busy broker is only a gap in the curve.
        }
        await new Promise((r) => setTimeout(r, everyMs));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return { peak: Math.max(0, ...samples.map((s) => s.lag)), samples };
      },
    };
  };

  return { sample, watch, close: () => admin.close() };
};
