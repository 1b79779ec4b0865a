import { orderStatusKey } from "../../../../domain/orders.ts";
import { STOCK_LUA } from "../../../../domain/stock-counter.ts";
import { CATALOG, CLOCK, SETTLE } from "../../../edge/cart/index.ts";

/**
 * The Redis side of a checkout, one script per step, each atomic on the server. Keys: the
 * idempotency record of the request's key, the cart (fields in the cart's scripts.ts), and the
 * order's status record.
 *
 * An idempotency record is `{fingerprint, state, owner, leaseUntil, orderId?, response?}`: `running`
 * while its owner (a random token per request) holds the lease, `failed` when the owner gave up (a
 * retry may take it over), `done` with the answer every replay gets. Only the owner finishes a
 * record, so a late finisher can never overwrite another's result. `orderId` is the order the key
 * froze the cart as: a publish that missed its deadline may land later, and once the order's status
 * record exists (the pipeline or another key's checkout wrote it) the key answers that order.
 */

/**
 * KEYS: record, cart. ARGV: fingerprint, owner, lease ms, record ttl ms.
 * Answers `{kind, ...}`:
 * - `mismatch` | `running` (the key) | `replay` response | `missing` | `deleted` (the cart) |
 *   `busy` orderId-or-'' (another checkout holds the cart's lease): nothing was taken;
 * - `landed` order: the order this key froze the cart as has landed since (its status record
 *   exists): the record is done with that order, which every replay answers from now on;
 * - `resume` payload: the cart is frozen as an order; republish exactly that payload;
 * - `fresh` version fields catalog: the cart's lines to price, with their catalog cache entries (the
 *   record and the cart's lease are now ours).
 */
export const BEGIN = `
${CLOCK}
${SETTLE}
${CATALOG}
local raw = redis.call('get', KEYS[1])
local rec = nil
if raw then
  rec = cjson.decode(raw)
  if rec.fingerprint ~= ARGV[1] then return {'mismatch'} end
  if rec.state == 'done' then return {'replay', rec.response} end
  if rec.state == 'running' and rec.owner ~= ARGV[2] and rec.leaseUntil > now then return {'running'} end
  if rec.orderId then
    local landed = redis.call('get', '${orderStatusKey("")}' .. rec.orderId)
    if landed then
      if redis.call('hget', KEYS[2], '#o') == rec.orderId then settle(KEYS[2], rec.orderId, now) end
      rec.state = 'done'
      rec.owner = ARGV[2]
      rec.leaseUntil = 0
      rec.response = landed
      redis.call('set', KEYS[1], cjson.encode(rec), 'PX', ARGV[4])
      return {'landed', landed}
    end
  end
end
local cart = KEYS[2]
if redis.call('exists', cart) == 0 then return {'missing'} end
if redis.call('hexists', cart, '#d') == 1 then return {'deleted'} end
local pending = settle_if_landed(cart, now)
local holder = redis.call('hget', cart, '#k')
if holder and holder ~= ARGV[2] and tonumber(redis.call('hget', cart, '#e') or '0') > now then
  return {'busy', pending or ''}
end
local leaseUntil = now + tonumber(ARGV[3])
redis.call('hset', cart, '#k', ARGV[2], '#e', leaseUntil)
rec = rec or { fingerprint = ARGV[1] }
rec.state = 'running'
rec.owner = ARGV[2]
rec.leaseUntil = leaseUntil
redis.call('set', KEYS[1], cjson.encode(rec), 'PX', ARGV[4])
if pending then return {'resume', redis.call('hget', cart, '#p')} end
return {'fresh', redis.call('hget', cart, '#t') or '0', redis.call('hgetall', cart), catalog_of(cart)}
`;

/**
 * KEYS: cart, record. ARGV: owner, version the lines were priced at, order id, payload, cart ttl ms,
 * hold ms, use stale levels (1: Postgres cannot be reached, so the last known level stands), then
 * product id, qty pairs (one per product).
 * Holds the order's units on the stock counter and freezes the cart as the order, all or nothing, if
 * the lease is still ours and the cart unchanged since it was read; the key's record remembers the
 * order (see BEGIN's `landed`). Answers `{'frozen'}`,
 * `{'changed'}` (read and price again), `{'fenced'}` (the lease was lost), `{'unknown', ids...}`
 * (counters to load from Postgres first: missing, or stale unless told to use them) or
 * `{'short', id, requested, available, ...}`.
 */
export const FREEZE = `
${CLOCK}
${STOCK_LUA}
local cart = KEYS[1]
if redis.call('hget', cart, '#k') ~= ARGV[1] or tonumber(redis.call('hget', cart, '#e') or '0') <= now then
  return {'fenced'}
end
if (redis.call('hget', cart, '#t') or '0') ~= ARGV[2] then return {'changed'} end
local unknown = {'unknown'}
local short = {'short'}
for i = 8, #ARGV, 2 do
  local available, fresh = stock_available(ARGV[i], now)
  if not available or (not fresh and ARGV[7] ~= '1') then
    table.insert(unknown, ARGV[i])
  elseif available < tonumber(ARGV[i + 1]) then
    table.insert(short, ARGV[i])
    table.insert(short, ARGV[i + 1])
    table.insert(short, math.max(available, 0))
  end
end
if #unknown > 1 then return unknown end
if #short > 1 then return short end
for i = 8, #ARGV, 2 do
  stock_hold(ARGV[i], ARGV[3], tonumber(ARGV[i + 1]), now + tonumber(ARGV[6]), now)
end
redis.call('hset', cart, '#o', ARGV[3], '#p', ARGV[4])
redis.call('pexpire', cart, ARGV[5])
local raw = redis.call('get', KEYS[2])
if raw then
  local rec = cjson.decode(raw)
  if rec.owner == ARGV[1] then
    rec.orderId = ARGV[3]
    redis.call('set', KEYS[2], cjson.encode(rec), 'KEEPTTL')
  end
end
return {'frozen'}
`;

/**
 * KEYS: record, cart. ARGV: owner, record ttl ms. Gives up: frees the cart's lease and marks the
 * record failed (so a retry may take it over), each only if still ours. A frozen cart stays frozen.
 */
export const RELEASE = `
if redis.call('hget', KEYS[2], '#k') == ARGV[1] then redis.call('hdel', KEYS[2], '#k', '#e') end
local raw = redis.call('get', KEYS[1])
if raw then
  local rec = cjson.decode(raw)
  if rec.owner == ARGV[1] and rec.state == 'running' then
    rec.state = 'failed'
    rec.leaseUntil = 0
    redis.call('set', KEYS[1], cjson.encode(rec), 'PX', ARGV[2])
  end
end
return 1
`;

/**
 * KEYS: record, cart, order status, acknowledged orders, the order's acknowledged payload. ARGV:
 * owner, order id, Order JSON, record ttl ms, status ttl s, acknowledged payload ttl s.
 * Kafka acknowledged the order: the record answers it from now on (if still ours), the cart settles
 * (if still frozen as this order) and its frozen `OrderPlaced` is kept with the acknowledged orders
 * (for the pipeline's reconciliation to find it, see domain/orders.ts), and the order's status record
 * is created unless the pipeline wrote one first (it may be final already: a retry republished an
 * order that had landed late). Answers the cart's new `#t` when this call settled it, else 0.
 */
export const COMPLETE = `
${CLOCK}
${SETTLE}
local raw = redis.call('get', KEYS[1])
if raw then
  local rec = cjson.decode(raw)
  if rec.owner == ARGV[1] then
    rec.state = 'done'
    rec.leaseUntil = 0
    rec.response = ARGV[3]
    redis.call('set', KEYS[1], cjson.encode(rec), 'PX', ARGV[4])
  end
end
local settled = 0
if redis.call('hget', KEYS[2], '#o') == ARGV[2] then
  redis.call('zadd', KEYS[4], now, ARGV[2])
  redis.call('hset', KEYS[5], 'p', redis.call('hget', KEYS[2], '#p'))
  redis.call('expire', KEYS[5], ARGV[6])
  settle(KEYS[2], ARGV[2], now)
  settled = tonumber(redis.call('hget', KEYS[2], '#t'))
end
if redis.call('hget', KEYS[2], '#k') == ARGV[1] then redis.call('hdel', KEYS[2], '#k', '#e') end
redis.call('set', KEYS[3], ARGV[3], 'EX', ARGV[5], 'NX')
return settled
`;
