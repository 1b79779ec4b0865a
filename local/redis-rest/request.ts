import { z } from "zod";
import type { RedisArg, RedisCommand } from "./protocol.ts";
import { badRequest } from "./rest-error.ts";

/**
 * The client serializes every argument with JSON: strings, numbers and booleans stay as they are,
 * anything else is already a JSON string (pkg/commands/command.ts, defaultSerializer).
 */
const ArgSchema = z.union([z.string(), z.number(), z.boolean()]);
export const CommandBodySchema = z.array(ArgSchema).min(1);
export const CommandListBodySchema = z.array(CommandBodySchema).min(1);

const COMMAND_SHAPE = 'a JSON array such as ["SET","key","value"]';
const LIST_SHAPE = 'a JSON array of commands such as [["SET","key","value"],["GET","key"]]';

const toCommand = (parts: readonly RedisArg[]): RedisCommand => {
  const [name, ...args] = parts;
  if (name === undefined) throw badRequest("ERR empty command");
  const text = typeof name === "string" ? name : name.toString("utf8");
  // Upper case also keeps ioredis from reshaping replies (its transformers are keyed by lower-case names).
  return { name: text.toUpperCase(), args };
};

const fromJsonArgs = (args: readonly (string | number | boolean)[]): RedisCommand =>
  toCommand(args.map((arg) => (typeof arg === "string" ? arg : String(arg))));

export const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`ERR the request body is not valid JSON: ${(error as Error).message}`, error);
  }
};

/** POST / : one command as a JSON array. */
export const parseCommandBody = (body: unknown): RedisCommand => {
  const parsed = CommandBodySchema.safeParse(body);
  if (!parsed.success) throw badRequest(`ERR the request body must be ${COMMAND_SHAPE}`, parsed.error);
  return fromJsonArgs(parsed.data);
};

/** POST /pipeline and /multi-exec : an array of commands. */
export const parseCommandListBody = (body: unknown): RedisCommand[] => {
  const parsed = CommandListBodySchema.safeParse(body);
  if (!parsed.success) throw badRequest(`ERR the request body must be ${LIST_SHAPE}`, parsed.error);
  return parsed.data.map(fromJsonArgs);
};

const decodeSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    throw badRequest(`ERR malformed URL encoding in path segment "${segment}"`, error);
  }
};

/** Query parameters that carry the token rather than arguments. */
export const TOKEN_QUERY_PARAM = "_token";

/**
 * The path form: `/set/foo/bar` is SET foo bar. A POST/PUT body is appended as the last argument, raw bytes
 * (the way to send binary values), then query parameters as further arguments: `?EX=100` adds EX 100, `?NX` adds NX.
 */
export const parsePathCommand = (
  pathname: string,
  query: URLSearchParams,
  body: Buffer | undefined,
): RedisCommand => {
  const segments = pathname.split("/").slice(1);
  if (segments.at(-1) === "") segments.pop();
  const parts: RedisArg[] = segments.map(decodeSegment);
  if (body !== undefined && body.length > 0) parts.push(body);
  for (const [key, value] of query) {
    if (key === TOKEN_QUERY_PARAM) continue;
    parts.push(key);
    if (value !== "") parts.push(value);
  }
  return toCommand(parts);
};
