import { z } from "zod";

/**
 * A topic name, or a glob in which `*` stands for any run of characters (none included): local runs
 * put a prefix before every topic (`dev.order-placed`), so `*order-placed` or `dev.*` must be sayable.
 */
export const TopicPatternSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9._*-]{1,249}$/,
    "expected a topic name or a glob with * (letters, digits, '.', '_', '-' and '*')",
  );

/**
 * One login and what it may do; anything not granted is refused (403). Strict, so a misspelt grant
 * (`"produces"`) is an error rather than a permission silently missing.
 */
export const KafkaRestUserSchema = z
  .strictObject({
    // Basic auth splits `user:password` at the first colon, and `@upstash/kafka` base64-encodes
    // Latin-1 only: a username with a colon, or non-ASCII credentials, could never log in.
    username: z
      .string()
      .regex(
        /^[\x21-\x39\x3b-\x7e]{1,200}$/,
        "expected 1 to 200 printable ASCII characters, no ':' or space",
      ),
    password: z
      .string()
      .min(1, "is empty")
      .regex(/^[\x20-\x7e]{0,200}$/, "expected at most 200 printable ASCII characters"),
    /** Topics this user may write to. */
    produce: z.array(TopicPatternSchema).default([]),
    /** Topics this user may read (`/fetch`, `/offsets`), and see in `/topics` (with `produce`). */
    consume: z.array(TopicPatternSchema).default([]),
    /** May read `GET /metrics`. */
    metrics: z.boolean().default(false),
  })
  .refine((u) => u.produce.length > 0 || u.consume.length > 0 || u.metrics, {
    message: "grants nothing: give produce, consume or metrics",
  });

/** What a caller writes: `produce`, `consume` and `metrics` may be left out (nothing granted). */
export type KafkaRestUser = z.input<typeof KafkaRestUserSchema>;
/** A user as validated, every grant present. */
export type ValidUser = z.output<typeof KafkaRestUserSchema>;

const usernameOf = (user: unknown): unknown =>
  typeof user === "object" && user !== null && "username" in user ? user.username : undefined;

export const KafkaRestUsersSchema = z
  .array(KafkaRestUserSchema)
  .min(1, "lists no user")
  .check(
    z.superRefine(
      (users, ctx) => {
        const first = new Map<string, number>();
        users.forEach((user: unknown, index) => {
          const username = usernameOf(user);
          if (typeof username !== "string") return;
          const earlier = first.get(username);
          if (earlier === undefined) first.set(username, index);
          else
            ctx.addIssue({
              code: "custom",
              path: [index, "username"],
              message: `duplicate username "${username}" (user ${earlier} has it too)`,
            });
        });
      },
      // Also when some user is invalid (its raw value is seen then), so one run lists every problem.
      { when: (payload) => Array.isArray(payload.value) },
    ),
  );

/** `KAFKA_REST_USERS`: the users as a JSON array. JSON errors never quote the text (it holds passwords). */
export const KafkaRestUsersJsonSchema = z
  .string({ error: "KAFKA_REST_USERS is required (a JSON array of users, see README)" })
  .transform((text, ctx): unknown => {
    try {
      return JSON.parse(text);
    } catch (err) {
      const position = err instanceof Error ? / at position \d+/.exec(err.message)?.[0] : undefined;
      ctx.addIssue({ code: "custom", message: `is not valid JSON${position ?? ""}` });
      return z.NEVER;
    }
  })
  .pipe(KafkaRestUsersSchema);

/**
 * Whether `topic` matches `pattern` (see TopicPatternSchema). Iterative, with one backtrack point
 * per `*`: at most pattern × topic steps, where a regular expression could backtrack exponentially.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < topic.length) {
    if (pattern[p] === "*") {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === topic[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}
