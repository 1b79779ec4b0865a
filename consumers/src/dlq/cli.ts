import { z } from "zod";
import { SettingsSchema } from "../config.ts";
import { createKafkaProducer } from "../runtime/kafka.ts";
import {
  type DeadLetterFilter,
  type DeadLetterRecord,
  listDeadLetters,
  replayDeadLetters,
} from "./dead-letters.ts";

/**
 * `npm run dlq -- list [--topic T] [--consumer C] [--event-id ID]`: prints the dead letters with
 * their error headers. `npm run dlq -- replay [same filters]`: republishes the original messages to
 * their original topics. Reads KAFKA_BROKERS, and KAFKA_TOPIC_PREFIX (a local run's, e.g. `dev.`;
 * topics are then named without it). Exit code 2 on a usage or settings problem.
 */

const USAGE = "usage: npm run dlq -- list|replay [--topic T] [--consumer C] [--event-id ID]";

const ArgsSchema = z.object({
  command: z.enum(["list", "replay"]),
  topic: z.string().min(1).optional(),
  consumer: z.string().min(1).optional(),
  "event-id": z.string().min(1).optional(),
});

const parseArgs = (argv: readonly string[]): z.infer<typeof ArgsSchema> => {
  const [command, ...rest] = argv;
  const options: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] = (rest[i] ?? "").split(/=(.*)/s, 2);
    if (!flag?.startsWith("--")) throw new Error(`unexpected argument "${rest[i]}"\n${USAGE}`);
    const value = inline ?? rest[++i];
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

const main = async (): Promise<void> => {
  let args: z.infer<typeof ArgsSchema>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const settings = SettingsSchema.pick({ KAFKA_BROKERS: true, KAFKA_TOPIC_PREFIX: true }).safeParse(
    process.env,
  );
  if (!settings.success) {
    process.stderr.write(`${z.prettifyError(settings.error)}\n`);
    process.exit(2);
  }
  const brokers = settings.data.KAFKA_BROKERS;
  const filter: DeadLetterFilter = {
    prefix: settings.data.KAFKA_TOPIC_PREFIX,
    ...(args.topic ? { topic: args.topic } : {}),
    ...(args.consumer ? { consumer: args.consumer } : {}),
    ...(args["event-id"] ? { eventId: args["event-id"] } : {}),
  };
  const letters = await listDeadLetters(brokers, filter);
  if (args.command === "list") {
    for (const letter of letters) process.stdout.write(`${describeLetter(letter)}\n`);
    process.stdout.write(`${letters.length} dead letter(s)\n`);
    return;
  }
  const producer = createKafkaProducer(brokers, "dlq-replay");
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
