import { z } from "zod";
import { KAFKA_PREFIX_PATTERN } from "../../domain/topics.ts";
import { checkKafkaSecurity, KafkaConnectionShape } from "../../services/kafka-client/security.ts";

const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** The environment of `node consumers/src/main.ts`; everything but the two URLs has a default. */
export const SettingsSchema = z.object({
  DATABASE_URL: z.url({ error: "DATABASE_URL is required: the Postgres URL (postgres://user@host:5432/db)" }),
  /** KAFKA_BROKERS, and the SASL login and TLS of a managed cluster (services/kafka-client). */
  ...KafkaConnectionShape,
  /** Needed by consumers that keep the Redis order status record (order-state). */
  REDIS_URL: z.url().optional(),
  /** Consumers to run when none are named on the command line: comma-separated names or `all`. */
  CONSUMERS: z.string().optional(),
  /** Replicas of every consumer not given its own count (REPLICAS_<NAME>, `--replicas name=N`). */
  REPLICAS: int(1, 256, 1),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  PG_POOL_MAX: int(1, 500, 10),
  /** Deadlines of every Postgres call: a hung server fails the call, and the runner waits it out. */
  PG_CONNECT_TIMEOUT_MS: int(100, 600_000, 5_000),
  PG_STATEMENT_TIMEOUT_MS: int(100, 3_600_000, 30_000),
  /** Also bounds the outbox relay's Kafka send, which runs inside its transaction. */
  PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(100, 3_600_000, 60_000),
  /** Client side: a query whose answer never comes (a silent network) fails after this. */
  PG_QUERY_TIMEOUT_MS: int(100, 3_600_000, 35_000),
  /** Deadlines of every Redis call, and how often a command is retried over reconnections. */
  REDIS_CONNECT_TIMEOUT_MS: int(100, 600_000, 5_000),
  REDIS_COMMAND_TIMEOUT_MS: int(10, 600_000, 2_000),
  REDIS_MAX_RETRIES_PER_REQUEST: int(0, 20, 2),
  /** Deadline of one payment processor call; a timeout is a transient failure. */
  PAYMENT_PROCESSOR_TIMEOUT_MS: int(10, 600_000, 10_000),
  /**
   * Transient failures (a processor or warehouse timing out): the event is parked and retried with
   * exponential backoff and full jitter, from / capped at, for this long after its first failure,
   * then the DLQ. Long enough to outlast a processor outage: a void waits for the processor too.
   */
  PAYMENT_RETRY_INITIAL_DELAY_MS: int(1, 600_000, 250),
  PAYMENT_RETRY_MAX_DELAY_MS: int(1, 3_600_000, 15_000),
  PAYMENT_RETRY_MAX_MS: int(0, 7 * 86_400_000, 3_600_000),
  /** The card processor the payment consumer charges: the simulator (the local default) or Stripe. */
  PAYMENT_PROCESSOR: z.enum(["simulator", "stripe"]).default("simulator"),
  /**
   * Stripe's secret key (`sk_live_…`, `sk_test_…`, or a restricted `rk_…` key allowed to write
   * PaymentIntents, PaymentMethods and Refunds); required with PAYMENT_PROCESSOR=stripe.
   */
  STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/, "expected a Stripe secret key: sk_live_…, sk_test_… or rk_…")
    .optional(),
  /** Where Stripe's API answers; another value only for a server standing in for it in tests. */
  STRIPE_API_URL: z.url().default("https://api.stripe.com"),
  /** Retries the Stripe SDK makes itself (network errors, 409, 5xx) within one processor call. */
  STRIPE_MAX_NETWORK_RETRIES: int(0, 10, 2),
  /** The simulated processor: added latency, and share of failing calls. */
  PAYMENT_SIM_LATENCY_MS: int(0, 600_000, 0),
  PAYMENT_SIM_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** How long the simulated processor ignores an order paid with `tok_processorSlow`. */
  PAYMENT_SIM_SLOW_MS: int(0, 86_400_000, 60_000),
  /**
   * The simulated processor answering late: for PAYMENT_SIM_LATE_FOR_MS after the process starts,
   * every call answers PAYMENT_SIM_LATE_MS late (its effect lands after the caller gave up).
   */
  PAYMENT_SIM_LATE_MS: int(0, 600_000, 0),
  PAYMENT_SIM_LATE_FOR_MS: int(0, 86_400_000, 0),
  /** Deadline of one warehouse (fulfillment provider) call; a timeout is a transient failure. */
  FULFILLMENT_PROVIDER_TIMEOUT_MS: int(10, 600_000, 10_000),
  /** How often the fulfillment consumer asks the warehouse about orders it has not shipped yet. */
  FULFILLMENT_POLL_INTERVAL_MS: int(10, 3_600_000, 500),
  /** The simulated warehouse (the only one shipped): added latency, share of failing calls, ship delay. */
  FULFILLMENT_SIM_LATENCY_MS: int(0, 600_000, 0),
  FULFILLMENT_SIM_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  FULFILLMENT_SIM_SHIP_DELAY_MS: int(0, 86_400_000, 2_000),
  /**
   * The payment step's limit: an order whose authorization has no answer this long after the payment
   * step first asked for it is cancelled (payment_timeout). Consumer lag never counts.
   */
  PAYMENT_STEP_LIMIT_MS: int(100, 86_400_000, 120_000),
  /**
   * The shopper's limit for a 3-D Secure step: an order whose card issuer asked for the shopper this
   * long ago, unanswered, is cancelled (payment_timeout) and the payment cancelled at the processor.
   */
  PAYMENT_ACTION_LIMIT_MS: int(100, 7 * 86_400_000, 900_000),
  /**
   * Payments whose authorization's answer was never recorded (`requested`, or voided without the
   * processor's reference) are compared with the processor once unchanged this long; how often.
   */
  PAYMENT_RECONCILE_AFTER_MS: int(60_000, 30 * 86_400_000, 600_000),
  PAYMENT_RECONCILE_INTERVAL_MS: int(1_000, 86_400_000, 60_000),
  /** How often order-state looks for orders past that limit. */
  ORDER_SWEEP_INTERVAL_MS: int(10, 3_600_000, 5_000),
  /** Parked events: keys retried at once per consumer, and how often the retrier looks for due ones. */
  PARKED_RETRY_CONCURRENCY: int(1, 1_000, 32),
  PARKED_RETRY_INTERVAL_MS: int(10, 600_000, 1_000),
  /**
   * An order Kafka acknowledged and Postgres has not recorded this long after is published again and
   * reported (the orders consumer, with REDIS_URL); how often it looks.
   */
  ORDER_RECONCILE_AFTER_MS: int(1_000, 7 * 86_400_000, 600_000),
  ORDER_RECONCILE_INTERVAL_MS: int(100, 86_400_000, 30_000),
  /** How long published outbox rows and processed event ids are kept (a periodic prune). */
  OUTBOX_RETENTION_MS: int(60_000, 365 * 86_400_000, 86_400_000),
  PROCESSED_EVENTS_RETENTION_MS: int(60_000, 365 * 86_400_000, 14 * 86_400_000),
  RETENTION_INTERVAL_MS: int(1_000, 86_400_000, 600_000),
  RETRY_MAX_ATTEMPTS: int(1, 100, 5),
  RETRY_INITIAL_DELAY_MS: int(1, 600_000, 200),
  RETRY_MAX_DELAY_MS: int(1, 3_600_000, 5_000),
  DEPENDENCY_RETRY_MAX_DELAY_MS: int(1, 3_600_000, 10_000),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000, 15_000),
  OUTBOX_RELAY_INTERVAL_MS: int(10, 600_000, 1_000),
  /**
   * An outbox row Kafka refuses (a missing topic, a record too large) and an effect that fails (not
   * an outage): tries, from 1 s backing off to OUTBOX_RETRY_MAX_DELAY_MS, before the row is parked.
   */
  OUTBOX_MAX_ATTEMPTS: int(1, 1_000, 10),
  OUTBOX_RETRY_MAX_DELAY_MS: int(10, 86_400_000, 120_000),
  /** Most events of one partition applied in one transaction when a backlog builds (1: one by one). */
  CONSUMER_MAX_BATCH: int(1, 1_000, 100),
  KAFKA_SESSION_TIMEOUT_MS: int(6_000, 300_000, 30_000),
  KAFKA_HEARTBEAT_INTERVAL_MS: int(100, 60_000, 3_000),
  /**
   * A fetch answers once this many bytes wait for the consumer, or after KAFKA_FETCH_MAX_WAIT_MS
   * (Kafka's fetch.min.bytes and fetch.max.wait.ms). Under load, fetches then return batches rather
   * than a message or two each, which is most of the broker's and the client's work per message.
   */
  KAFKA_FETCH_MIN_BYTES: int(1, 52_428_800, 1),
  KAFKA_FETCH_MAX_WAIT_MS: int(10, 30_000, 1_000),
  /** Where a new consumer group starts: `earliest` (default; nothing is skipped) or `latest`. */
  CONSUMER_START_AT: z.enum(["earliest", "latest"]).default("earliest"),
  /**
   * Prepended to every topic and consumer group id: local runs sharing one cluster keep apart
   * (`npm run dev` uses `dev.`, each test and benchmark run its own). Production: none.
   */
  KAFKA_TOPIC_PREFIX: z.string().regex(KAFKA_PREFIX_PATTERN).default(""),
  /** Appended to every consumer group id (blue/green deployments, experiments). */
  CONSUMER_GROUP_SUFFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/)
    .default(""),
  /**
   * Port of `/healthz`, `/readyz` and `/metrics`: 0 picks a free one (logged; tests, several
   * processes on one machine), `off` serves none.
   */
  METRICS_PORT: z.union([z.literal("off"), z.coerce.number().int().min(0).max(65_535)]).default(9464),
  /** Address those endpoints listen on (the container image sets 0.0.0.0). */
  METRICS_HOST: z.string().min(1).default("127.0.0.1"),
  /** Deadline of each readiness check and of each reading taken when /metrics is scraped. */
  PROBE_TIMEOUT_MS: int(50, 60_000, 2_000),
  EMAIL_FROM: z.string().min(3).default("Storefront <orders@storefront.local>"),
  /** Set only where email may really leave: stored emails are then delivered over SMTP. */
  SMTP_URL: z.url().optional(),
  /** SMTP connections of the pool (emails sent at once), and the connect, greeting and idle timeouts. */
  SMTP_MAX_CONNECTIONS: int(1, 100, 5),
  SMTP_TIMEOUT_MS: int(100, 600_000, 30_000),
});

export type Settings = z.infer<typeof SettingsSchema>;

export interface Selection {
  name: string;
  replicas: number;
}

export interface ConsumersConfig {
  settings: Settings;
  consumers: Selection[];
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** `REPLICAS_ORDER_STATE` for `order-state`. */
export const replicasVariable = (name: string): string =>
  `REPLICAS_${name.toUpperCase().replaceAll("-", "_")}`;

interface Args {
  names: string[];
  replicas: Map<string, string>;
}

const parseArgs = (argv: readonly string[], problems: string[]): Args => {
  const args: Args = { names: [], replicas: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--replicas" || arg.startsWith("--replicas=")) {
      const value = arg === "--replicas" ? argv[++i] : arg.slice("--replicas=".length);
      const match = value?.match(/^([a-z][a-z0-9-]*)=(.+)$/);
      if (match?.[1] && match[2]) args.replicas.set(match[1], match[2]);
      else problems.push(`--replicas expects name=count, got "${value ?? ""}"`);
    } else if (arg.startsWith("-")) {
      problems.push(`unknown option ${arg}`);
    } else {
      args.names.push(...arg.split(",").filter(Boolean));
    }
  }
  return args;
};

/**
 * Reads the command line (`orders email --replicas payment=10`, or `all`) and the environment.
 * Throws a ConfigError listing every problem.
 */
export const loadConfig = (
  argv: readonly string[],
  env: Record<string, string | undefined>,
  known: readonly string[],
): ConsumersConfig => {
  const problems: string[] = [];
  const parsed = SettingsSchema.superRefine(checkKafkaSecurity).safeParse(env);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((i) => `${i.path.join(".") || "env"}: ${i.message}`));
  }
  const args = parseArgs(argv, problems);
  const requested =
    args.names.length > 0 ? args.names : (env.CONSUMERS ?? "").split(",").map((s) => s.trim());
  const names = requested.filter(Boolean).includes("all")
    ? [...known]
    : [...new Set(requested.filter(Boolean))];
  if (names.length === 0) {
    problems.push(`no consumer named: pass names or "all" (or set CONSUMERS); known: ${known.join(", ")}`);
  }
  for (const name of names) {
    if (!known.includes(name)) problems.push(`unknown consumer "${name}"; known: ${known.join(", ")}`);
  }
  for (const name of args.replicas.keys()) {
    if (!names.includes(name)) problems.push(`--replicas names "${name}", which is not being run`);
  }
  const consumers = names.map((name) => {
    const raw = args.replicas.get(name) ?? env[replicasVariable(name)] ?? String(parsed.data?.REPLICAS ?? 1);
    const replicas = Number(raw);
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 256) {
      problems.push(`replicas of ${name} must be an integer from 1 to 256, got "${raw}"`);
    }
    return { name, replicas };
  });
  if (
    parsed.data?.PAYMENT_PROCESSOR === "stripe" &&
    !parsed.data.STRIPE_SECRET_KEY &&
    names.includes("payment")
  ) {
    problems.push("STRIPE_SECRET_KEY is required with PAYMENT_PROCESSOR=stripe");
  }
  if (problems.length > 0 || !parsed.success) {
    throw new ConfigError(`invalid consumers configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  return { settings: parsed.data, consumers };
};
