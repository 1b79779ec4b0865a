import { sha1Hex, stripUpstashScriptFlags } from "./lua-shebang.ts";
import type { RedisArg, RedisCommand, RedisReply } from "./protocol.ts";
import type { RedisExecutor } from "./redis-executor.ts";

/**
 * Lets scripts written for Upstash (`#!lua flags=allow-key-locking`, as @upstash/ratelimit sends them) run on
 * Redis 7: EVAL, EVAL_RO and SCRIPT LOAD send the script without the Upstash-only flags (lua-shebang.ts).
 *
 * Redis then knows the script by the SHA1 of the rewritten text, while the client knows it by the SHA1 of
 * what it sent (and @upstash/ratelimit even hard-codes those). So the SHA1 of every rewritten script is
 * remembered: EVALSHA, EVALSHA_RO and SCRIPT EXISTS of an original SHA1 are sent with the rewritten one,
 * and SCRIPT LOAD answers the original. An original SHA1 not remembered (never seen, evicted, or from
 * before a restart) is sent as is and Redis answers NOSCRIPT, whereupon the client EVALs the script and
 * the mapping is back. Scripts without such flags, and their SHA1s, pass through unchanged.
 */

export const DEFAULT_REMEMBERED_SCRIPTS = 1_000;

/** original SHA1 -> rewritten SHA1, least recently used evicted first. Keys are lower case. */
export interface ScriptShaMap {
  get(originalSha: string): string | undefined;
  set(originalSha: string, rewrittenSha: string): void;
  readonly size: number;
}

export const createScriptShaMap = (capacity = DEFAULT_REMEMBERED_SCRIPTS): ScriptShaMap => {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`invalid capacity ${capacity}`);
  const entries = new Map<string, string>(); // iteration order = least recently used first
  return {
    get(originalSha) {
      const key = originalSha.toLowerCase();
      const rewritten = entries.get(key);
      if (rewritten !== undefined) {
        entries.delete(key);
        entries.set(key, rewritten);
      }
      return rewritten;
    },
    set(originalSha, rewrittenSha) {
      const key = originalSha.toLowerCase();
      entries.delete(key);
      entries.set(key, rewrittenSha);
      for (const oldest of entries.keys()) {
        if (entries.size <= capacity) break;
        entries.delete(oldest);
      }
    },
    get size() {
      return entries.size;
    },
  };
};

/** A command as sent to Redis, and how to turn Redis's reply into the one the client expects. */
interface Prepared {
  command: RedisCommand;
  restore?: (reply: RedisReply) => RedisReply;
}

const text = (arg: RedisArg | undefined): string | undefined =>
  arg === undefined ? undefined : typeof arg === "string" ? arg : arg.toString("utf8");

const EVAL = new Set(["EVAL", "EVAL_RO"]);
const EVALSHA = new Set(["EVALSHA", "EVALSHA_RO"]);

/** Rewrites the script commands of a request; every other command is returned as it is. */
export const createScriptFlagRewriter = (shas: ScriptShaMap) => {
  /** The script to send instead of `script`, remembering its SHA1; undefined when it needs no rewrite. */
  const rewrite = (script: RedisArg | undefined): { script: Buffer; originalSha: string } | undefined => {
    if (script === undefined) return undefined;
    const stripped = stripUpstashScriptFlags(script);
    if (stripped === undefined) return undefined;
    const originalSha = sha1Hex(script);
    shas.set(originalSha, sha1Hex(stripped));
    return { script: stripped, originalSha };
  };

  const translateSha = (sha: RedisArg): RedisArg => {
    const value = text(sha);
    return (value === undefined ? undefined : shas.get(value)) ?? sha;
  };

  return (command: RedisCommand): Prepared => {
    const { name, args } = command;
    const [first, ...rest] = args;
    if (EVAL.has(name)) {
      const rewritten = rewrite(first);
      return rewritten === undefined ? { command } : { command: { name, args: [rewritten.script, ...rest] } };
    }
    if (EVALSHA.has(name) && first !== undefined) {
      return { command: { name, args: [translateSha(first), ...rest] } };
    }
    if (name !== "SCRIPT") return { command };
    const subcommand = text(first)?.toUpperCase();
    if (subcommand === "EXISTS" && first !== undefined) {
      return { command: { name, args: [first, ...rest.map(translateSha)] } };
    }
    if (subcommand === "LOAD" && first !== undefined && rest.length === 1) {
      const rewritten = rewrite(rest[0]);
      if (rewritten === undefined) return { command };
      const original = Buffer.from(rewritten.originalSha);
      return {
        command: { name, args: [first, rewritten.script] },
        // Redis answers the SHA1 of what it loaded; the client expects the SHA1 of what it sent.
        restore: (reply) => (Buffer.isBuffer(reply) ? original : reply),
      };
    }
    return { command };
  };
};

/** The executor, with Upstash-only script flags handled on both single commands, pipelines and transactions. */
export const withUpstashScriptFlags = (
  executor: RedisExecutor,
  shas: ScriptShaMap = createScriptShaMap(),
): RedisExecutor => {
  const prepare = createScriptFlagRewriter(shas);
  const run = async (
    commands: readonly RedisCommand[],
    execute: (commands: readonly RedisCommand[]) => Promise<RedisReply[]>,
  ): Promise<RedisReply[]> => {
    // In order, so an EVAL fills the map before an EVALSHA later in the same pipeline is translated.
    const prepared = commands.map(prepare);
    const replies = await execute(prepared.map((entry) => entry.command));
    return replies.map((reply, i) => prepared[i]?.restore?.(reply) ?? reply);
  };
  return {
    pipeline: (commands) => run(commands, (sent) => executor.pipeline(sent)),
    transaction: (commands) => run(commands, (sent) => executor.transaction(sent)),
    close: () => executor.close(),
  };
};
