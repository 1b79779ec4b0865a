/**
 * The Upstash REST wire format, as @upstash/redis reads it (pkg/http.ts in the client):
 * - a command's reply is `{"result": value}` or `{"error": "message"}`; pipelines and transactions answer
 *   with an array of those, one per command;
 * - bulk and status replies are strings, integers are JSON numbers, nil is null, arrays nest;
 * - with `Upstash-Encoding: base64` (the client's default) every string is base64 of its raw bytes,
 *   except a top-level "OK"; the client decodes top-level strings and strings nested in arrays.
 *   Errors are never encoded.
 */

export type RedisArg = string | Buffer;

/** A command as sent to Redis: the name in upper case, the arguments as given (strings or raw bytes). */
export interface RedisCommand {
  name: string;
  args: RedisArg[];
}

/** A reply as read from Redis (RESP2, bytes untouched). A top-level Error means the command failed. */
export type RedisReply = Buffer | number | null | Error | RedisReply[];

export type JsonReply = string | number | null | JsonReply[];

export type CommandOutcome = { result: JsonReply } | { error: string };

export const ENCODING_HEADER = "upstash-encoding";
export const SYNC_TOKEN_HEADER = "upstash-sync-token";

const OK = Buffer.from("OK");

export const wantsBase64 = (encodingHeader: string | undefined): boolean =>
  encodingHeader?.trim().toLowerCase() === "base64";

/** Narrows what ioredis resolved (with Buffer replies) into a RedisReply. */
export const toRedisReply = (value: unknown): RedisReply => {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value) || typeof value === "number" || value instanceof Error) return value;
  if (typeof value === "string") return Buffer.from(value);
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(toRedisReply);
  throw new TypeError(`unexpected reply from Redis of type ${typeof value}`);
};

const encodeValue = (reply: RedisReply, base64: boolean, topLevel: boolean): JsonReply => {
  if (reply === null || typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item) => encodeValue(item, base64, false));
  // An error nested in an array (a Lua table holding an error reply) travels as its message.
  const bytes = reply instanceof Error ? Buffer.from(reply.message) : reply;
  if (!base64) return bytes.toString("utf8");
  if (topLevel && bytes.equals(OK)) return "OK";
  return bytes.toString("base64");
};

export const toOutcome = (reply: RedisReply, base64: boolean): CommandOutcome =>
  reply instanceof Error ? { error: reply.message } : { result: encodeValue(reply, base64, true) };
