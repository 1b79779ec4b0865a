import type { Redis } from "@upstash/redis";
import { AppError } from "../../../domain/errors.ts";
import { msSetting, redisClient, type ServiceBindings } from "../../platform/clients.ts";
import { log } from "../../platform/log.ts";
import { optionalSubject } from "../customer-auth/token.ts";

/** The settings of the limits on reads that reach Postgres (wrangler.toml documents them). */
export interface OriginLimitBindings extends ServiceBindings {
  /** Postgres-bound misses one client may cause per window: catalog fills, unknown cart ids. */
  ORIGIN_MISS_LIMIT?: string;
  ORIGIN_MISS_WINDOW_SECONDS?: string;
  /** Postgres-bound misses per second across every isolate and client. */
  ORIGIN_MISS_GLOBAL_LIMIT?: string;
  CUSTOMER_TOKEN_SECRET?: string;
}

/**
 * The gate in front of every read a request sends to Postgres because Redis had no answer (a catalog
 * fill, an unknown cart id): a per-client limit (the connecting IP, and the customer when the request
 * carries a valid customer token) and a global ceiling per second. Hits never reach it, so it costs
 * nothing on the paths that are served from Redis, and one round trip on a miss, which is about to
 * cost a Postgres query anyway.
 */
export interface OriginGuard {
  /** Before a read for the request's client: 429 `rate_limited` past its limit or the global ceiling. */
  admit(): Promise<void>;
  /** Before a refresh of a stale entry (it serves everyone): false past the global ceiling. */
  admitRefresh(): Promise<boolean>;
}

/**
 * Counts one miss for each client key (fixed windows) and, when none is past its limit, one for the
 * global ceiling (a window of a second). KEYS: the clients' counters, then the global one. ARGV:
 * client limit, client window (ms), global limit, global window (ms). Answers {0, 0} when admitted,
 * {1, ms until the client's window ends, which client} past a client's limit, {2, ms} past the
 * ceiling.
 */
const ADMIT = `
local clients = #KEYS - 1
for i = 1, clients do
  local n = redis.call('incr', KEYS[i])
  if n == 1 then redis.call('pexpire', KEYS[i], ARGV[2]) end
  if n > tonumber(ARGV[1]) then return {1, redis.call('pttl', KEYS[i]), i} end
end
local g = redis.call('incr', KEYS[#KEYS])
if g == 1 then redis.call('pexpire', KEYS[#KEYS], ARGV[4]) end
if g > tonumber(ARGV[3]) then return {2, redis.call('pttl', KEYS[#KEYS])} end
return {0, 0}`;

/** Only the global ceiling (KEYS[1]; ARGV: limit, window ms): 1 admitted, 0 refused. */
const ADMIT_GLOBAL = `
local g = redis.call('incr', KEYS[1])
if g == 1 then redis.call('pexpire', KEYS[1], ARGV[2]) end
if g > tonumber(ARGV[1]) then return 0 end
return 1`;

const GLOBAL_WINDOW_MS = 1_000;

/**
 * The client keys of a request: its connecting IP (as Cloudflare reports it, at most 64 characters),
 * and the customer its token names when the signature is valid (revocation is not looked up: a
 * signed-out token still names the customer it was issued to, which is who the limit is for).
 */
export const requestClients = async (
  env: { CUSTOMER_TOKEN_SECRET?: string },
  headers: Headers,
): Promise<string[]> => {
  const ip = (headers.get("CF-Connecting-IP") ?? "unknown").slice(0, 64);
  const customer = await optionalSubject(env.CUSTOMER_TOKEN_SECRET, headers.get("authorization"));
  return customer ? [`ip:${ip}`, `cus:${customer}`] : [`ip:${ip}`];
};

export interface OriginLimits {
  clientLimit: number;
  clientWindowMs: number;
  globalLimit: number;
}

export const originLimits = (env: OriginLimitBindings): OriginLimits => ({
  clientLimit: msSetting(env.ORIGIN_MISS_LIMIT, 120),
  clientWindowMs: msSetting(env.ORIGIN_MISS_WINDOW_SECONDS, 60) * 1000,
  globalLimit: msSetting(env.ORIGIN_MISS_GLOBAL_LIMIT, 500),
});

const refused = (scope: "client" | "global", ttlMs: number): AppError => {
  const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
  return new AppError(
    "rate_limited",
    scope === "client"
      ? `too many requests that miss the cache; retry in ${retryAfter} s`
      : `the store is busy; retry in ${retryAfter} s`,
    { retryAfter },
  );
};

/**
 * What this isolate knows without asking Redis, per Redis and limits: clients refused until a moment
 * (their window's end), the end of a second whose global ceiling was reached, and when counting last
 * failed. A refused flood is then refused without a round trip, and a Redis that hangs is not waited
 * for twice.
 */
interface IsolateView {
  blockedUntil: Map<string, number>;
  ceilingUntil: number;
  countingFailedAt: number;
}
const views = new Map<string, IsolateView>();
const viewOf = (scope: string): IsolateView => {
  let view = views.get(scope);
  if (!view) {
    view = { blockedUntil: new Map(), ceilingUntil: 0, countingFailedAt: Number.NEGATIVE_INFINITY };
    views.set(scope, view);
  }
  return view;
};
const COUNTING_RETRY_MS = 5_000;
const MAX_BLOCKED = 10_000;

const block = (view: IsolateView, client: string, untilMs: number, nowMs: number): void => {
  if (view.blockedUntil.size >= MAX_BLOCKED) {
    for (const [key, until] of view.blockedUntil) if (until <= nowMs) view.blockedUntil.delete(key);
    if (view.blockedUntil.size >= MAX_BLOCKED) view.blockedUntil.clear();
  }
  view.blockedUntil.set(client, untilMs);
};

/**
 * The guard of one request. `clients` is asked on the first miss only (a customer token's signature
 * is checked then, never on a hit). When Redis cannot count, the read is let through, and for a few
 * seconds no count is tried: refusing every read then would take the catalog down with Redis.
 */
export const createOriginGuard = (
  redis: Redis,
  scope: string,
  limits: OriginLimits,
  clients: () => Promise<readonly string[]>,
  now: () => number = Date.now,
): OriginGuard => {
  const view = viewOf(`${scope}\n${limits.clientLimit}\n${limits.clientWindowMs}\n${limits.globalLimit}`);
  const globalKey = (nowMs: number) => `rl:origin:${Math.floor(nowMs / GLOBAL_WINDOW_MS)}`;
  return {
    async admit() {
      const nowMs = now();
      const ids = await clients();
      const blocked = Math.max(...ids.map((id) => view.blockedUntil.get(id) ?? 0));
      if (blocked > nowMs) throw refused("client", blocked - nowMs);
      if (view.ceilingUntil > nowMs) throw refused("global", view.ceilingUntil - nowMs);
      if (nowMs - view.countingFailedAt < COUNTING_RETRY_MS) return;
      const window = Math.floor(nowMs / limits.clientWindowMs);
      const keys = ids.map((id) => `rl:miss:${id}:${window}`);
      let answer: [number, number, number?];
      try {
        answer = await redis.eval<string[], [number, number, number?]>(
          ADMIT,
          [...keys, globalKey(nowMs)],
          [
            String(limits.clientLimit),
            String(limits.clientWindowMs),
            String(limits.globalLimit),
            String(GLOBAL_WINDOW_MS),
          ],
        );
      } catch (error) {
        view.countingFailedAt = nowMs;
        log("warn", "origin limits could not be counted; reads go on uncounted for a few seconds", { error });
        return;
      }
      const [verdict, ttlMs, which] = answer;
      if (verdict === 1) {
        const id = ids[(which ?? 1) - 1];
        if (id) block(view, id, nowMs + ttlMs, nowMs);
        throw refused("client", ttlMs);
      }
      if (verdict === 2) {
        view.ceilingUntil = nowMs + ttlMs;
        log("warn", "global ceiling of Postgres-bound misses reached", { limit: limits.globalLimit });
        throw refused("global", ttlMs);
      }
    },
    async admitRefresh() {
      const nowMs = now();
      if (view.ceilingUntil > nowMs) return false;
      if (nowMs - view.countingFailedAt < COUNTING_RETRY_MS) return true;
      try {
        const admitted = await redis.eval<string[], number>(
          ADMIT_GLOBAL,
          [globalKey(nowMs)],
          [String(limits.globalLimit), String(GLOBAL_WINDOW_MS)],
        );
        if (admitted !== 1) view.ceilingUntil = nowMs + (GLOBAL_WINDOW_MS - (nowMs % GLOBAL_WINDOW_MS));
        return admitted === 1;
      } catch {
        view.countingFailedAt = nowMs;
        return true;
      }
    },
  };
};

/** The guard of a request to a worker. */
export const originGuard = (env: OriginLimitBindings, headers: Headers): OriginGuard => {
  let clients: Promise<string[]> | undefined;
  return createOriginGuard(
    redisClient(env, { raw: true }),
    env.UPSTASH_REDIS_REST_URL,
    originLimits(env),
    () => {
      clients ??= requestClients(env, headers);
      return clients;
    },
  );
};
