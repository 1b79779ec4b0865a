import type { RedisArg, RedisCommand } from "./protocol.ts";

/**
 * Which commands may run over the shared connections. Every request shares one Redis connection, so a
 * command that changes that connection's state or keeps it for itself is refused with a 400, and a blocking
 * command with a finite timeout is given a connection of its own for its duration.
 */
export type CommandRoute =
  | { kind: "shared" }
  | { kind: "dedicated" } // blocks for a bounded time: runs on its own connection
  | { kind: "rejected"; error: Error };

const SHARED: CommandRoute = { kind: "shared" };
const DEDICATED: CommandRoute = { kind: "dedicated" };

const reject = (message: string): CommandRoute => ({ kind: "rejected", error: new Error(`ERR ${message}`) });

const TRANSACTION = new Set(["MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"]);
const CONNECTION_STATE = new Set(["SELECT", "AUTH", "HELLO", "RESET", "QUIT"]);
const SUBSCRIPTION = new Set([
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "UNSUBSCRIBE",
  "PUNSUBSCRIBE",
  "SUNSUBSCRIBE",
]);
const STREAMING = new Set(["MONITOR", "SYNC", "PSYNC", "REPLCONF"]);
const SERVER_CONTROL = new Set(["SHUTDOWN", "DEBUG", "REPLICAOF", "SLAVEOF", "FAILOVER"]);
const CLIENT_STATE = new Set(["REPLY", "TRACKING", "CACHING", "SETNAME", "SETINFO", "NO-EVICT", "NO-TOUCH"]);

/** Blocking commands by where their timeout is: last argument, first argument, or a BLOCK option. */
const LAST_ARG_TIMEOUT = new Set([
  "BLPOP",
  "BRPOP",
  "BRPOPLPUSH",
  "BLMOVE",
  "BZPOPMIN",
  "BZPOPMAX",
  "WAIT",
  "WAITAOF",
]);
const FIRST_ARG_TIMEOUT = new Set(["BLMPOP", "BZMPOP"]);
const BLOCK_OPTION = new Set(["XREAD", "XREADGROUP"]);

const text = (arg: RedisArg | undefined): string | undefined =>
  arg === undefined ? undefined : typeof arg === "string" ? arg : arg.toString("utf8");

const blockOptionValue = (args: readonly RedisArg[]): string | undefined => {
  for (let i = 0; i < args.length; i++) {
    const word = text(args[i])?.toUpperCase();
    if (word === "STREAMS") return undefined;
    if (word === "BLOCK") return text(args[i + 1]);
  }
  return undefined;
};

/** The timeout argument of a blocking command, undefined when absent, null for a command that never blocks. */
const blockingTimeout = ({ name, args }: RedisCommand): string | undefined | null => {
  if (LAST_ARG_TIMEOUT.has(name)) return text(args.at(-1));
  if (FIRST_ARG_TIMEOUT.has(name)) return text(args[0]);
  if (BLOCK_OPTION.has(name)) return blockOptionValue(args);
  return null; // not a blocking command
};

/**
 * Routes a command. Inside MULTI nothing blocks (Redis runs blocking commands there as non-blocking), so
 * `inTransaction` skips the blocking checks; the connection-state rules still apply.
 */
export const routeCommand = (command: RedisCommand, inTransaction = false): CommandRoute => {
  const { name, args } = command;
  if (TRANSACTION.has(name)) {
    return reject(
      `${name} is not available as a single command: requests share connections; send the commands to /multi-exec`,
    );
  }
  if (CONNECTION_STATE.has(name)) {
    return reject(
      `${name} would change a connection shared by all requests; choose the database in the Redis URL`,
    );
  }
  if (SUBSCRIPTION.has(name) || STREAMING.has(name)) {
    return reject(`${name} holds the connection and is not supported by this REST endpoint`);
  }
  if (SERVER_CONTROL.has(name)) return reject(`${name} is not available through this REST endpoint`);
  const subcommand = text(args[0])?.toUpperCase();
  if (name === "CLIENT" && subcommand !== undefined && CLIENT_STATE.has(subcommand)) {
    return reject(`CLIENT ${subcommand} would change a connection shared by all requests`);
  }
  if (inTransaction) return SHARED;
  const timeout = blockingTimeout(command);
  // No timeout: XREAD without BLOCK does not block; a missing argument is an arity error Redis answers at once.
  if (timeout === null || timeout === undefined) return SHARED;
  if (timeout.trim() !== "" && Number(timeout) === 0) {
    return reject(`${name} with timeout 0 would block forever and hold a connection; pass a finite timeout`);
  }
  return DEDICATED;
};
