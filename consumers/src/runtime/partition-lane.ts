import type { KafkaMessage } from "./kafka.ts";

/**
 * Runs messages (consecutive, in offset order) to their end; resolves with the offset committed
 * last (the messages up to it may be skipped), or undefined when none was.
 */
export type LaneWorker = (messages: KafkaMessage[], abandon: AbortSignal) => Promise<bigint | undefined>;

export interface LaneHooks {
  /** After every message, whatever became of it (the runner resumes a paused stream here). */
  settled(): void;
  /** The worker threw, which it should never do: the messages count as not committed. */
  failed(error: unknown, messages: KafkaMessage[]): void;
}

/**
 * The messages of one partition, handled strictly in offset order: whatever queued while the
 * worker was busy goes to it next, together (at most `maxBatch` at a time), so a busy partition is
 * worked in batches and a quiet one message by message.
 *
 * The Kafka stream rewinds a partition to its committed offset after every rebalance, so it can
 * hand over messages again: a message already queued, in flight, or done in this lane's current
 * epoch is skipped here (and anything that slips through is a duplicate event id in Postgres,
 * which changes nothing). Only messages this lane has really seen are skipped, never by guessing.
 */
export class PartitionLane {
  readonly key: string;
  #queue: KafkaMessage[] = [];
  /** Offsets queued or in flight in the current epoch. */
  #seen = new Set<bigint>();
  #lastDone = -1n;
  #epoch = 0;
  #abandon = new AbortController();
  #running: Promise<void> | undefined;
  readonly #work: LaneWorker;
  readonly #hooks: LaneHooks;
  readonly #maxBatch: number;

  constructor(key: string, work: LaneWorker, hooks: LaneHooks, maxBatch = 1) {
    this.key = key;
    this.#work = work;
    this.#hooks = hooks;
    this.#maxBatch = Math.max(1, maxBatch);
  }

  /** Messages waiting (the one in flight not included). */
  get queued(): number {
    return this.#queue.length;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Queues the message unless this lane has it already; returns whether it was queued. */
  offer(message: KafkaMessage): boolean {
    if (message.offset <= this.#lastDone || this.#seen.has(message.offset)) return false;
    this.#seen.add(message.offset);
    this.#queue.push(message);
    this.#pump();
    return true;
  }

  /** Drops the messages not started yet (shutdown); the one in flight finishes. Returns how many. */
  dropQueued(): number {
    const dropped = this.#queue.length;
    for (const message of this.#queue) this.#seen.delete(message.offset);
    this.#queue = [];
    return dropped;
  }

  /**
   * The partition is no longer ours (revoked), or shutdown ran out of time: drop the queue, abandon
   * the message in flight (its offset stays uncommitted) and forget what was done, so a later
   * assignment starts afresh from the committed offset.
   */
  reset(): number {
    const dropped = this.#queue.length;
    this.#queue = [];
    this.#seen = new Set();
    this.#lastDone = -1n;
    this.#epoch++;
    this.#abandon.abort();
    this.#abandon = new AbortController();
    return dropped;
  }

  /** Resolves when nothing is in flight. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  #pump(): void {
    if (this.#running) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#queue.length > 0) this.#pump();
    });
  }

  async #drain(): Promise<void> {
    for (let batch = this.#take(); batch.length > 0; batch = this.#take()) {
      const epoch = this.#epoch;
      const seen = this.#seen;
      const committed = await this.#work(batch, this.#abandon.signal).catch((error: unknown) => {
        this.#hooks.failed(error, batch);
        return undefined;
      });
      for (const message of batch) seen.delete(message.offset);
      if (committed !== undefined && epoch === this.#epoch && committed > this.#lastDone) {
        this.#lastDone = committed;
      }
      this.#hooks.settled();
    }
  }

  #take(): KafkaMessage[] {
    return this.#queue.splice(0, this.#maxBatch);
  }
}
