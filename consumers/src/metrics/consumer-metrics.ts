import { Counter, Histogram, type Registry } from "prom-client";
import { isDependencyDown, isTransient } from "../runtime/failures.ts";
import type { MessageOutcome } from "../runtime/process-message.ts";

/**
 * Why one attempt at an event failed: `handler` (parked, retried a few times, then dead-lettered),
 * `transient` (a remote service timing out: parked, retried for up to an hour), `dependency`
 * (Postgres down: waited out without limit), `invalid` (not JSON or failing the schema:
 * dead-lettered at once).
 */
/** `conflict`: the transaction deadlocked with another lane's and ran again (no event failed). */
export type FailureKind = "handler" | "transient" | "dependency" | "invalid" | "conflict";

/**
 * The counters the runner moves as it handles messages. Every method is cheap and synchronous;
 * lag and the outbox backlog are not here: they are read when Prometheus scrapes.
 */
export interface ConsumerMetrics {
  /**
   * A message of `topic` ended with `outcome` (applied, duplicate, dead-lettered, abandoned),
   * `seconds` after it was taken (retries and waits included; for a parked event, since it was parked).
   */
  eventEnded(
    consumer: string,
    topic: string,
    outcome: Exclude<MessageOutcome, "parked">,
    seconds: number,
  ): void;
  /** A message left its partition for the parked events (it failed, or waits behind one of its key). */
  eventParked(consumer: string, topic: string): void;
  /** One attempt at an event failed. */
  eventFailed(consumer: string, topic: string, kind: FailureKind): void;
  /** A failed event will be tried again (after a backoff). */
  eventRetried(consumer: string, topic: string, kind: FailureKind): void;
  /** A dead letter was published to `<topic>.dlq`. */
  deadLettered(consumer: string, topic: string): void;
}

/** The kind of a handler's failure, classified as the runner's retry loop classifies it. */
export const failureKind = (error: unknown): FailureKind =>
  isTransient(error) ? "transient" : isDependencyDown(error) ? "dependency" : "handler";

/** Processing times from a few milliseconds to the minutes a transient failure may be retried. */
const PROCESSING_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** The runner's counters, registered on `registry`. */
export const createConsumerMetrics = (registry: Registry): ConsumerMetrics => {
  const registers = [registry];
  const events = new Counter({
    name: "consumer_events_total",
    help: "Messages handled to the end, by consumer, topic and outcome (applied, duplicate, dead-lettered, abandoned)",
    labelNames: ["consumer", "topic", "outcome"] as const,
    registers,
  });
  const processing = new Histogram({
    name: "consumer_event_processing_seconds",
    help: "Time from taking a message to its outcome (retries and waits for a dependency included)",
    labelNames: ["consumer", "topic"] as const,
    buckets: PROCESSING_BUCKETS,
    registers,
  });
  const failures = new Counter({
    name: "consumer_event_failures_total",
    help: "Failed attempts at an event, by kind (handler, transient, dependency, invalid)",
    labelNames: ["consumer", "topic", "kind"] as const,
    registers,
  });
  const retries = new Counter({
    name: "consumer_event_retries_total",
    help: "Retries scheduled after a failed attempt, by the kind of failure",
    labelNames: ["consumer", "topic", "kind"] as const,
    registers,
  });
  const parked = new Counter({
    name: "consumer_events_parked_total",
    help: "Events parked: taken out of their partition to be retried (or to wait behind an earlier event of their key)",
    labelNames: ["consumer", "topic"] as const,
    registers,
  });
  const deadLetters = new Counter({
    name: "consumer_dead_letters_total",
    help: "Dead letters published to <topic>.dlq, by consumer and source topic",
    labelNames: ["consumer", "topic"] as const,
    registers,
  });
  return {
    eventEnded: (consumer, topic, outcome, seconds) => {
      events.inc({ consumer, topic, outcome });
      processing.observe({ consumer, topic }, seconds);
    },
    eventParked: (consumer, topic) => parked.inc({ consumer, topic }),
    eventFailed: (consumer, topic, kind) => failures.inc({ consumer, topic, kind }),
    eventRetried: (consumer, topic, kind) => retries.inc({ consumer, topic, kind }),
    deadLettered: (consumer, topic) => deadLetters.inc({ consumer, topic }),
  };
};
