import type { RedisOptions } from "ioredis";
import { Command, Redis, ReplyError } from "ioredis";
import type { Logger } from "pino";
import { routeCommand } from "./command-policy.ts";
import { type RedisArg, type RedisCommand, type RedisReply, toRedisReply } from "./protocol.ts";
import { RestError } from "./rest-error.ts";

export interface RedisExecutorOptions {
  logger: Logger;
  /** How long a request waits for a first connection before it is answered 503. */
  connectTimeoutMs?: number;
  /** Bound on one command over the shared connection (blocking commands run elsewhere). */
  commandTimeoutMs?: number;
}

export interface RedisExecutor {
  /** Runs commands as a pipeline: each gets its own reply; a top-level Error is that command's failure. */
  pipeline(commands: readonly RedisCommand[]): Promise<RedisReply[]>;
  /** Runs commands inside MULTI/EXEC on the shared connection. */
  transaction(commands: readonly RedisCommand[]): Promise<RedisReply[]>;
  close(): Promise<void>;
}

const EXEC_ABORTED = "EXECABORT Transaction discarded because of previous errors.";

/** Where Redis is, for messages: host, port and database, never the password. */
export const describeRedis = (redisUrl: string): string => {
  try {
    const url = new URL(redisUrl);
    const db = url.pathname.length > 1 ? url.pathname : "";
    return `${url.hostname}:${url.port || "6379"}${db}`;
  } catch {
    return "(unparseable REDIS URL)";
  }
};

const isReplyError = (error: unknown): error is Error => error instanceof ReplyError;

export const createRedisExecutor = (redisUrl: string, options: RedisExecutorOptions): RedisExecutor => {
  const { logger, connectTimeoutMs = 3_000, commandTimeoutMs = 30_000 } = options;
  const where = describeRedis(redisUrl);
  const redisOptions: RedisOptions = {
    protocol: 2, // Upstash answers in RESP2 shapes: flat arrays for hashes, doubles as strings
    connectionName: "local-redis-rest",
    connectTimeout: connectTimeoutMs,
    commandTimeout: commandTimeoutMs,
    // Fail in-flight commands when the connection drops instead of replaying them (an INCR must not run twice).
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
  };
  const shared = new Redis(redisUrl, redisOptions);
  const dedicated = new Set<Redis>();
  let lastError: Error | undefined;

  shared.on("error", (error: Error) => {
    if (lastError?.message !== error.message)
      logger.warn({ err: error, redis: where }, "redis connection error");
    lastError = error;
  });
  shared.on("ready", () => {
    if (lastError !== undefined) logger.info({ redis: where }, "redis connection restored");
    lastError = undefined;
  });

  const unavailable = (reason: string, cause?: unknown): RestError =>
    new RestError(503, `Redis is unavailable at ${where}: ${reason}`, { cause });

  const waitForReady = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        shared.off("ready", onReady);
        shared.off("error", settle);
        shared.off("end", onEnd);
        if (error === undefined) resolve();
        else reject(unavailable(error.message, error));
      };
      const onReady = () => settle();
      const onEnd = () => settle(new Error("the connection was closed"));
      const timer = setTimeout(
        () => settle(new Error(`no connection within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
      shared.once("ready", onReady);
      shared.once("error", settle);
      shared.once("end", onEnd);
    });

  /** Answers at once when Redis is known to be down; waits (bounded) only for a connection being made. */
  const ensureAvailable = async (): Promise<void> => {
    if (shared.status === "ready") return;
    if (shared.status === "end") throw unavailable("the endpoint is shut down");
    if (lastError !== undefined && shared.status !== "connect")
      throw unavailable(lastError.message, lastError);
    await waitForReady();
  };

  /** Sends one command; resolves with its reply or its Redis error, rejects only when the connection failed. */
  const send = (client: Redis, name: string, args: readonly RedisArg[] = []): Promise<RedisReply> => {
    const command = new Command(name, [...args], { replyEncoding: null });
    client.sendCommand(command);
    return (command.promise as Promise<unknown>).then(toRedisReply, (error: unknown) => {
      if (isReplyError(error)) return error;
      const message = error instanceof Error ? error.message : String(error);
      if (message.includes("timed out")) {
        throw new RestError(504, `Redis at ${where} did not answer ${name} within ${commandTimeoutMs} ms`, {
          cause: error,
        });
      }
      throw unavailable(`${name} failed: ${message}`, error);
    });
  };

  /** A connection of its own for commands that block, closed afterwards. */
  const withDedicated = async <T>(run: (client: Redis) => Promise<T>): Promise<T> => {
    const client = shared.duplicate({
      connectionName: "local-redis-rest-blocking",
      commandTimeout: undefined,
      retryStrategy: () => null,
    });
    client.on("error", (error: Error) =>
      logger.warn({ err: error, redis: where }, "blocking connection error"),
    );
    dedicated.add(client);
    try {
      return await run(client);
    } finally {
      dedicated.delete(client);
      client.disconnect();
    }
  };

  const pipeline = async (commands: readonly RedisCommand[]): Promise<RedisReply[]> => {
    const routes = commands.map((command) => routeCommand(command));
    if (routes.every((route) => route.kind === "rejected")) return routes.map((route) => route.error);
    await ensureAvailable();
    const runAll = (client: Redis) =>
      Promise.all(
        commands.map((command, i) => {
          const route = routes[i];
          return route?.kind === "rejected" ? route.error : send(client, command.name, command.args);
        }),
      );
    // A blocking command would stall everyone behind it on the shared connection.
    return routes.some((route) => route.kind === "dedicated") ? withDedicated(runAll) : runAll(shared);
  };

  const transaction = async (commands: readonly RedisCommand[]): Promise<RedisReply[]> => {
    const routes = commands.map((command) => routeCommand(command, true));
    if (routes.some((route) => route.kind === "rejected")) {
      // Nothing runs, as when Redis refuses a command while queueing it.
      return routes.map((route) => (route.kind === "rejected" ? route.error : new Error(EXEC_ABORTED)));
    }
    await ensureAvailable();
    // Issued in one synchronous run, so no other request's command can land between MULTI and EXEC.
    const multi = send(shared, "MULTI");
    const queued = commands.map((command) => send(shared, command.name, command.args));
    const exec = send(shared, "EXEC");
    const [, queueReplies, execReply] = await Promise.all([multi, Promise.all(queued), exec]);
    if (Array.isArray(execReply) && execReply.length === commands.length) return execReply;
    if (execReply instanceof Error) {
      // EXECABORT: each command refused while queueing reports its own error, the others that they did not run.
      return queueReplies.map((reply) => (reply instanceof Error ? reply : execReply));
    }
    throw new RestError(500, `unexpected EXEC reply from Redis at ${where}`);
  };

  const close = async (): Promise<void> => {
    for (const client of dedicated) client.disconnect();
    dedicated.clear();
    if (shared.status === "ready") {
      await shared.quit().catch((error: unknown) => {
        logger.warn({ err: error, redis: where }, "redis QUIT failed; disconnecting");
        shared.disconnect();
      });
    } else {
      shared.disconnect();
    }
  };

  return { pipeline, transaction, close };
};
