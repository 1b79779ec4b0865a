import { createHash } from "node:crypto";
import type { RedisArg } from "./protocol.ts";

/**
 * Script flags only Upstash knows. @upstash/ratelimit starts its scripts with `#!lua flags=allow-key-locking`
 * (Upstash then locks only the script's keys); Redis 7 refuses the whole script with
 * `ERR Unexpected flag in script shebang: allow-key-locking`. Dropping the flag loses only that locking
 * optimisation: Redis runs every script atomically anyway.
 */
export const UPSTASH_ONLY_FLAGS: ReadonlySet<string> = new Set(["allow-key-locking"]);

const NEWLINE = 0x0a;
const FLAGS_PREFIX = "flags=";
/** C isspace(), what Redis splits the shebang on (JS `\s` would also match bytes such as 0xA0). */
const SPACES = /[ \t\n\v\f\r]+/;
const TRAILING_SPACES = /[ \t\n\v\f\r]*$/;

export const sha1Hex = (script: RedisArg): string => createHash("sha1").update(script).digest("hex");

const startsWithShebang = (script: RedisArg): boolean =>
  typeof script === "string" ? script.startsWith("#!") : script[0] === 0x23 && script[1] === 0x21;

/**
 * The first line with the Upstash-only flags removed, or undefined when it has none of them.
 * Parsed the way Redis 7.0 does (eval.c, luaCreateFunction): whitespace-separated words, the first `#!lua`,
 * the others `flags=a,b`. A line using quotes is left alone (Redis's own error then names the flag).
 */
const rewriteShebangLine = (line: string): string | undefined => {
  if (/["']/.test(line)) return undefined;
  const [engine, ...options] = line.split(SPACES).filter((word) => word !== "");
  if (engine !== "#!lua") return undefined;
  let changed = false;
  const kept: string[] = [];
  for (const option of options) {
    if (!option.startsWith(FLAGS_PREFIX)) {
      kept.push(option);
      continue;
    }
    const flags = option.slice(FLAGS_PREFIX.length).split(",");
    const remaining = flags.filter((flag) => !UPSTASH_ONLY_FLAGS.has(flag));
    if (remaining.length === flags.length) {
      kept.push(option);
      continue;
    }
    changed = true;
    // `flags=` with nothing left is dropped: the line becomes `#!lua`, still a shebang with no flags.
    if (remaining.length > 0) kept.push(`${FLAGS_PREFIX}${remaining.join(",")}`);
  }
  if (!changed) return undefined;
  // Trailing whitespace (a CR before the LF) is kept; the line stays one line, so line numbers do not move.
  const trailing = TRAILING_SPACES.exec(line)?.[0] ?? "";
  return [engine, ...kept].join(" ") + trailing;
};

/**
 * The script without Upstash-only shebang flags, as the bytes to send to Redis, or undefined when the script
 * has none (it is then to be sent exactly as given). Only the first line changes; the body is byte for byte.
 */
export const stripUpstashScriptFlags = (script: RedisArg): Buffer | undefined => {
  if (!startsWithShebang(script)) return undefined;
  // The same bytes ioredis would send for a string argument, and that the client hashed.
  const bytes = typeof script === "string" ? Buffer.from(script, "utf8") : script;
  const newline = bytes.indexOf(NEWLINE);
  const end = newline === -1 ? bytes.length : newline;
  // latin1 maps each byte to one character and back, so the line round-trips even if it is not ASCII.
  const line = rewriteShebangLine(bytes.subarray(0, end).toString("latin1"));
  if (line === undefined) return undefined;
  return Buffer.concat([Buffer.from(line, "latin1"), bytes.subarray(end)]);
};
