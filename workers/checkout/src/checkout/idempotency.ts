import type { Redis } from "@upstash/redis";
import { AppError } from "../../../../domain/errors.ts";
import type { Order } from "../../../../domain/orders.ts";

/**
 * Idempotency records of `POST /v1/checkout`, in Redis for 24 hours. A record is keyed by a hash of
 * the Idempotency-Key, remembers a fingerprint of the body and the order id chosen for the key, so
 * that a retry after any failure reuses the same order id (and the same event id downstream).
 */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** A running checkout that has not finished in this time is taken over by the next retry. */
export const RUNNING_LEASE_MS = 30_000;

export type Begin =
  | { kind: "started"; orderId: string }
  | { kind: "replay"; order: Order }
  | { kind: "mismatch" }
  | { kind: "running" };

/** KEYS[1] record; ARGV: fingerprint, new order id, now ms, lease ms, ttl ms. Answers {kind, payload}. */
const BEGIN = `
local raw = redis.call('get', KEYS[1])
local now = tonumber(ARGV[3])
if raw then
  local rec = cjson.decode(raw)
  if rec.fingerprint ~= ARGV[1] then return {'mismatch', ''} end
  if rec.state == 'done' then return {'replay', rec.response} end
  if rec.state == 'running' and rec.leaseUntil > now then return {'running', ''} end
  rec.state = 'running'
  rec.leaseUntil = now + tonumber(ARGV[4])
  redis.call('set', KEYS[1], cjson.encode(rec), 'PX', ARGV[5])
  return {'started', rec.orderId}
end
local rec = { fingerprint = ARGV[1], orderId = ARGV[2], state = 'running', leaseUntil = now + tonumber(ARGV[4]) }
redis.call('set', KEYS[1], cjson.encode(rec), 'PX', ARGV[5])
return {'started', ARGV[2]}
`;

/** KEYS[1] record; ARGV: state (done|failed), response JSON or '', ttl ms. */
const FINISH = `
local raw = redis.call('get', KEYS[1])
if not raw then return 0 end
local rec = cjson.decode(raw)
rec.state = ARGV[1]
rec.leaseUntil = 0
if ARGV[2] ~= '' then rec.response = ARGV[2] end
redis.call('set', KEYS[1], cjson.encode(rec), 'PX', ARGV[3])
return 1
`;

const hex = (bytes: ArrayBuffer): string =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

export const sha256 = async (text: string): Promise<string> =>
  hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));

/** Key order does not change the fingerprint of a JSON body. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );

export class IdempotencyStore {
  constructor(private readonly redis: Redis) {}

  private static key(idempotencyKey: string): Promise<string> {
    return sha256(idempotencyKey).then((digest) => `idem:checkout:${digest}`);
  }

  private async call<T>(script: string, idempotencyKey: string, args: string[]): Promise<T> {
    try {
      return await this.redis
        .createScript<T>(script)
        .exec([await IdempotencyStore.key(idempotencyKey)], args);
    } catch (error) {
      throw new AppError("dependency_unavailable", "idempotency records could not be reached", {
        cause: error,
        retryAfter: 2,
      });
    }
  }

  async begin(idempotencyKey: string, fingerprint: string, newOrderId: string): Promise<Begin> {
    const [kind, payload] = await this.call<[string, string]>(BEGIN, idempotencyKey, [
      fingerprint,
      newOrderId,
      String(Date.now()),
      String(RUNNING_LEASE_MS),
      String(IDEMPOTENCY_TTL_MS),
    ]);
    if (kind === "started") return { kind, orderId: payload };
    if (kind === "replay") return { kind, order: JSON.parse(payload) as Order };
    if (kind === "mismatch" || kind === "running") return { kind };
    throw new Error(`unexpected idempotency answer ${kind}`);
  }

  /** Stores the answer, so every replay of the key gets it. */
  async complete(idempotencyKey: string, order: Order): Promise<void> {
    await this.call(FINISH, idempotencyKey, ["done", JSON.stringify(order), String(IDEMPOTENCY_TTL_MS)]);
  }

  /** Frees the key for a retry, keeping its order id. */
  async fail(idempotencyKey: string): Promise<void> {
    await this.call(FINISH, idempotencyKey, ["failed", "", String(IDEMPOTENCY_TTL_MS)]);
  }
}
