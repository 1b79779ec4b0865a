import { CLOCK } from "./redis-lua.ts";

/**
 * The edge stock counter: how many units of a variant (for a one-variant product, the product's id)
 * checkout may still hold, in Redis, kept in
 * step with Postgres (the authority) by the edge and the inventory consumer. Postgres still refuses to
 * oversell when the counter is wrong; the counter only lets checkout say "sold out" at once.
 *
 * Keys of a variant `<p>` (all expire; a lost key is rebuilt from Postgres):
 * - `stock:<p>` hash: `pg` the variant's `available` in Postgres as of inventory version `v`, synced
 *   at `s` (ms), and `h` the units held at the edge that Postgres has not reserved yet. Checkout may
 *   hold `pg - h`. A level older than `STOCK_FRESH_MS` is reloaded from Postgres before it is used,
 *   but while Postgres cannot be reached the last known level is used all the same (checkout keeps
 *   taking orders through a Postgres outage; Postgres still decides when it is back). The key lives
 *   `STOCK_COUNTER_TTL_MS` after its last sync.
 * - `stock:<p>:holds` sorted set: the order ids holding units, scored by their hold's expiry (ms);
 * - `stock:<p>:hq` hash: order id → units held.
 * - `hold:<o>` set: the variants order `<o>` holds (to release them all when the order ends).
 *
 * A hold ends when the inventory consumer reserves the order in Postgres (converted: `pg` and `h`
 * drop together), when the order ends without a reservation (released), or at its expiry (its order
 * never reached the pipeline, or took too long to).
 */
export const stockKey = (variantId: string): string => `stock:${variantId}`;
export const orderHoldsKey = (orderId: string): string => `hold:${orderId}`;

/** How long a level synced from Postgres is used without reloading it (while Postgres answers). */
export const STOCK_FRESH_MS = 60_000;
/** How long a counter is kept after its last sync (the level a Postgres outage falls back to). */
export const STOCK_COUNTER_TTL_MS = 24 * 3600 * 1000;

/** What READ_STOCK answers per product, and FREEZE is told of stale levels. */
export const LEVEL = { fresh: 0, stale: 1, missing: 2 } as const;

/**
 * Lua helpers every counter script shares. All take the product id and the server's time `now` (ms).
 * - `stock_available(p, now)`: units checkout may hold and whether the level is still fresh, or nil
 *   when the counter is not loaded;
 * - `stock_hold(p, order, qty, until, now)`: holds `qty` for `order` until `until` (ms);
 * - `stock_release(p, order)`: ends the order's hold of `p` (no-op without one);
 * - `stock_sync(p, available, version, ttl, now)`: records Postgres's `available` at `version`,
 *   unless a newer version is recorded already, as synced now; (re)creates the counter with the
 *   holds still live.
 */
export const STOCK_LUA = `
local function stock_keys(p)
  local base = 'stock:' .. p
  return base, base .. ':holds', base .. ':hq'
end
local function stock_purge(p, now)
  local counter, holds, hq = stock_keys(p)
  local expired = redis.call('zrangebyscore', holds, '-inf', now)
  if #expired == 0 then return end
  local freed = 0
  for _, order in ipairs(expired) do
    freed = freed + tonumber(redis.call('hget', hq, order) or '0')
    redis.call('hdel', hq, order)
  end
  redis.call('zremrangebyscore', holds, '-inf', now)
  if redis.call('exists', counter) == 1 then redis.call('hincrby', counter, 'h', -freed) end
end
local function stock_available(p, now)
  stock_purge(p, now)
  local counter = stock_keys(p)
  local level = redis.call('hmget', counter, 'pg', 'h', 's')
  if not level[1] then return nil end
  return tonumber(level[1]) - tonumber(level[2] or '0'), now - tonumber(level[3] or '0') < ${STOCK_FRESH_MS}
end
local function stock_hold(p, order, qty, until_ms, now)
  local counter, holds, hq = stock_keys(p)
  local previous = tonumber(redis.call('hget', hq, order) or '0')
  redis.call('zadd', holds, until_ms, order)
  redis.call('hset', hq, order, qty)
  redis.call('hincrby', counter, 'h', qty - previous)
  local keep = until_ms - now + 60000
  for _, k in ipairs({holds, hq}) do
    if redis.call('pttl', k) < keep then redis.call('pexpire', k, keep) end
  end
  redis.call('sadd', 'hold:' .. order, p)
  if redis.call('pttl', 'hold:' .. order) < keep then redis.call('pexpire', 'hold:' .. order, keep) end
end
local function stock_release(p, order)
  local counter, holds, hq = stock_keys(p)
  local qty = redis.call('hget', hq, order)
  if not qty then return end
  redis.call('hdel', hq, order)
  redis.call('zrem', holds, order)
  if redis.call('exists', counter) == 1 then redis.call('hincrby', counter, 'h', -tonumber(qty)) end
end
local function stock_sync(p, available, version, ttl, now)
  local counter, holds, hq = stock_keys(p)
  local known = tonumber(redis.call('hget', counter, 'v') or '-1')
  if version < known then return end
  if known < 0 then
    stock_purge(p, now)
    local held = 0
    for _, qty in ipairs(redis.call('hvals', hq)) do held = held + tonumber(qty) end
    redis.call('hset', counter, 'h', held)
  end
  redis.call('hset', counter, 'pg', available, 'v', version, 's', now)
  redis.call('pexpire', counter, ttl)
end
`;

/**
 * KEYS: none (keys are built from the ids, as in every counter script). ARGV: order id, counter ttl ms,
 * then product id, available, version triples. The order's holds end (converted or released), and
 * the products' Postgres levels are recorded: run by the inventory consumer after each commit.
 */
export const SETTLE_ORDER_STOCK = `
${CLOCK}
${STOCK_LUA}
local order = ARGV[1]
for _, p in ipairs(redis.call('smembers', 'hold:' .. order)) do stock_release(p, order) end
redis.call('del', 'hold:' .. order)
for i = 3, #ARGV, 3 do stock_sync(ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[2]), now) end
return 1
`;

/** ARGV: counter ttl ms, then product id, available, version triples: records Postgres levels. */
export const SYNC_STOCK = `
${CLOCK}
${STOCK_LUA}
for i = 2, #ARGV, 3 do stock_sync(ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[1]), now) end
return 1
`;

/**
 * ARGV: product ids. Answers `LEVEL` then the units checkout may hold, for each product in turn
 * (units 0 where the counter is not loaded).
 */
export const READ_STOCK = `
${CLOCK}
${STOCK_LUA}
local out = {}
for _, p in ipairs(ARGV) do
  local available, fresh = stock_available(p, now)
  if available == nil then
    out[#out + 1] = ${LEVEL.missing}
    out[#out + 1] = 0
  else
    out[#out + 1] = fresh and ${LEVEL.fresh} or ${LEVEL.stale}
    out[#out + 1] = available
  end
end
return out
`;
