import { z } from "zod";
import {
  checkKafkaSecurity,
  KafkaConnectionShape,
  kafkaSecurity,
} from "../../../services/kafka-client/security.ts";
import { createConsumerDb } from "../clients.ts";
import { SettingsSchema } from "../config.ts";
import { createKafkaProducer } from "../runtime/kafka.ts";
import {
  type DeadLetterFilter,
  type DeadLetterRecord,
  listDeadLetters,
  replayDeadLetters,
} from "./dead-letters.ts";
import { listParked, PARKED_KINDS, type ParkedRow, replayParked } from "./parked.ts";

/**
 * Dead letters (on Kafka):
 * - `npm run dlq -- list [--topic T] [--consumer C] [--event-id ID]`: prints the dead letters with
 *   their error headers;
 * - `npm run dlq -- replay [same filters]`: republishes the original messages to their topics.
 * Parked rows (in Postgres, see parked.ts):
 * - `npm run dlq -- parked [--kind outbox|effects|emails|events]`: prints them with their errors;
 * - `npm run dlq -- unpark --kind K (--id ID[,ID...] | --all)`: puts them back in line now.
 * Reads KAFKA_BROKERS, DATABASE_URL, and KAFKA_TOPIC_PREFIX (a local run's, e.g. `dev.`; topics are
 * then named without it). Exit code 2 on a usage or settings problem.
 */

const USAGE = [
  "usage: npm run dlq -- list|replay [--topic T] [--consumer C] [--event-id ID]",
  `       npm run dlq -- parked [--kind ${PARKED_KINDS.join("|")}]`,
  `       npm run dlq -- unpark --kind ${PARKED_KINDS.join("|")} (--id ID[,ID...] | --all)`,
].join("\n");

const ArgsSchema = z.object({
  command: z.enum(["list", "replay", "parked", "unpark"]),
  topic: z.string().min(1).optional(),
  consumer: z.string().min(1).optional(),
  "event-id": z.string().min(1).optional(),
  kind: z.enum(PARKED_KINDS).optional(),
  id: z.string().min(1).optional(),
  all: z.literal("true").optional(),
});

const parseArgs = (argv: readonly string[]): z.infer<typeof ArgsSchema> => {
  const [command, ...rest] = argv;
  const options: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] = (rest[i] ?? "").split(/=(.*)/s, 2);
    if (!flag?.startsWith("--")) throw new Error(`unexpected argument "${rest[i]}"\n${USAGE}`);
    const value = flag === "--all" ? "true" : (inline ?? rest[++i]);
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    options[flag.slice(2)] = value;
  }
  const parsed = ArgsSchema.strict().safeParse({ command, ...options });
  if (!parsed.success) throw new Error(`${z.prettifyError(parsed.error)}\n${USAGE}`);
  return parsed.data;
};

const describeLetter = (letter: DeadLetterRecord): string => {
  const head = `${letter.dlqTopic}[${letter.partition}]@${letter.offset} from ${letter.sourceTopic} (consumer ${letter.consumer || "?"}, event ${letter.eventId ?? "?"}, key ${letter.key?.toString("utf8") ?? "-"})`;
  const headers = Object.entries(letter.dlq).map(([k, v]) => `  ${k}: ${v}`);
  return [head, ...headers].join("\n");
};

const describeParked = (row: ParkedRow): string =>
  [
    `${row.kind} ${row.id}: ${row.what} (key ${row.key}, ${row.reason ? `${row.reason}, ` : ""}${row.attempts} tries, since ${row.since.toISOString()})`,
    `  error: ${row.lastError ?? "-"}`,
  ].join("\n");

const usageError = (message: string): never => {
  process.stderr.write(`${message}\n`);
  process.exit(2);
};

/** `parked` and `unpark`: the parked rows in Postgres. */
const parkedCommand = async (args: z.infer<typeof ArgsSchema>): Promise<void> => {
  const settings = SettingsSchema.pick({ DATABASE_URL: true, KAFKA_TOPIC_PREFIX: true }).safeParse(
    process.env,
  );
  if (!settings.success) return usageError(z.prettifyError(settings.error));
  const { db, pool } = createConsumerDb(settings.data.DATABASE_URL, {
    PG_POOL_MAX: 1,
    PG_CONNECT_TIMEOUT_MS: 5_000,
    PG_STATEMENT_TIMEOUT_MS: 30_000,
    PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: 60_000,
    PG_QUERY_TIMEOUT_MS: 35_000,
  });
  const prefix = settings.data.KAFKA_TOPIC_PREFIX;
  try {
    if (args.command === "parked") {
      const rows = await listParked(db, { prefix, ...(args.kind ? { kinds: [args.kind] } : {}) });
      for (const row of rows) process.stdout.write(`${describeParked(row)}\n`);
      process.stdout.write(`${rows.length} parked row(s)\n`);
      return;
    }
    if (!args.kind || (!args.id && !args.all))
      return usageError(`unpark needs --kind and --id or --all\n${USAGE}`);
    const ids = args.id?.split(",").filter(Boolean);
    const count = await replayParked(db, args.kind, { prefix, ...(ids ? { ids } : {}) });
    process.stdout.write(`${count} parked ${args.kind} row(s) put back in line\n`);
  } finally {
    await pool.end();
  }
};

const main = async (): Promise<void> => {
  let args: z.infer<typeof ArgsSchema>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (args.command === "parked" || args.command === "unpark") return parkedCommand(args);
  const settings = SettingsSchema.pick({ KAFKA_TOPIC_PREFIX: true })
    .extend(KafkaConnectionShape)
    .superRefine(checkKafkaSecurity)
    .safeParse(process.env);
  if (!settings.success) return usageError(z.prettifyError(settings.error));
  const brokers = settings.data.KAFKA_BROKERS;
  const security = kafkaSecurity(settings.data);
  const filter: DeadLetterFilter = {
    prefix: settings.data.KAFKA_TOPIC_PREFIX,
    ...(args.topic ? { topic: args.topic } : {}),
    ...(args.consumer ? { consumer: args.consumer } : {}),
    ...(args["event-id"] ? { eventId: args["event-id"] } : {}),
  };
  const letters = await listDeadLetters(brokers, filter, security);
  if (args.command === "list") {
    for (const letter of letters) process.stdout.write(`${describeLetter(letter)}\n`);
    process.stdout.write(`${letters.length} dead letter(s)\n`);
    return;
  }
  const producer = createKafkaProducer(brokers, "dlq-replay", security);
  try {
    await replayDeadLetters(producer, letters);
  } finally {
    await producer.close();
  }
  for (const letter of letters) {
    process.stdout.write(
      `replayed ${letter.dlqTopic}@${letter.offset} to ${letter.sourceTopic} (event ${letter.eventId ?? "?"})\n`,
    );
  }
  process.stdout.write(`${letters.length} dead letter(s) replayed\n`);
};

main().catch((error: unknown) => {
  process.stderr.write(
    `dlq failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
