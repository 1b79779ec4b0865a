import type { KafkaMessage } from "./kafka.ts";

/** Runs one message to its end; resolves true when its offset was committed (or it may be skipped). */
export type LaneWorker = (message: KafkaMessage, abandon: AbortSignal) => Promise<boolean>;

export interface LaneHooks {
  /** After every message, whatever became of it (the runner resumes a paused stream here). */
  settled(): void;
  /** The worker threw, which it should never do: the message counts as not committed. */
  failed(error: unknown, message: KafkaMessage): void;
}

/**
 * The messages of one partition, handled strictly one after another in offset order.
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

  constructor(key: string, work: LaneWorker, hooks: LaneHooks) {
    this.key = key;
    this.#work = work;
    this.#hooks = hooks;
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
    for (let message = this.#queue.shift(); message; message = this.#queue.shift()) {
      const epoch = this.#epoch;
      const seen = this.#seen;
      const committed = await this.#work(message, this.#abandon.signal).catch((error: unknown) => {
        this.#hooks.failed(error, message);
        return false;
      });
      seen.delete(message.offset);
      if (committed && epoch === this.#epoch && message.offset > this.#lastDone) {
        this.#lastDone = message.offset;
      }
      this.#hooks.settled();
    }
  }
}
