import { orderStatusKey } from "../../../domain/orders.ts";
import { CLOCK } from "../../../domain/redis-lua.ts";
import { variantKey } from "../catalog/index.ts";

/**
 * Cart mutations run as Lua on the Redis server, so concurrent requests on one cart never
 * read-modify-write in the worker. A cart is one hash:
 * - a field per line, named by its variant's id, holding its quantity;
 * - `#t` its last-change time in ms (strictly increasing, so "newest wins" is exact downstream);
 * - `#c` the currency of its lines;
 * - `#d` on a deleted cart's tombstone;
 * - while a checkout is unsettled (the cart is frozen): `#o` the id of the order it is being placed
 *   as and `#p` that order's `OrderPlaced` payload, so every retry publishes exactly that order;
 * - while a checkout runs on it: `#k` the running checkout's owner token and `#e` its lease expiry (ms);
 * - `#l` the last order placed from the cart.
 * A frozen cart settles (its lines emptied, `#l` set) once its order is known to have landed: when
 * checkout saw Kafka acknowledge it, or when the order's status record exists (the pipeline wrote it).
 *
 * Every script answers `{status, updatedAtMs, fields, catalog, remaining}` with status codes below:
 * `fields` the cart hash as a flat list, `catalog` the cached catalog entry of each of its variants
 * (see CATALOG), so the worker prices the cart without another round trip, and `remaining` what is
 * left of the client's limit (LIMIT; -1 when none applied).
 *
 * A change is one round trip: the script that makes it also counts the client's limit and, for a
 * line it adds, checks the variant and its currency in the catalog cache (PRODUCT).
 */
export const STATUS = {
  ok: 0,
  missing: 1,
  lineLimit: 2,
  linesLimit: 3,
  currency: 4,
  deleted: 5,
  frozen: 6,
  /** Over the client's limit: `{rateLimited, ms until the window ends}`; nothing changed. */
  rateLimited: 7,
  /** The product has no entry in the catalog cache: the worker reads it and asks again. */
  catalogMiss: 8,
  /** The catalog cache holds the product as absent. */
  noProduct: 9,
  /** The cached product has no live variant of that id: the worker reads it and asks again. */
  noVariant: 10,
  /** A product with several variants was named without one. */
  variantRequired: 11,
} as const;

export { CLOCK };

/**
 * Defines `settle(key, orderId, now)`: the cart's order has landed, so its lines go, the checkout
 * fields go, `#l` remembers the order and `#t` moves on. And `settle_if_landed(key, now)`, which
 * settles a frozen cart whose order's status record exists, answering the order id still pending.
 */
export const SETTLE = `
local function settle(cart, order, at)
  for _, f in ipairs(redis.call('hkeys', cart)) do
    if string.sub(f, 1, 1) ~= '#' then redis.call('hdel', cart, f) end
  end
  redis.call('hdel', cart, '#c', '#o', '#p', '#k', '#e')
  local t = math.max(at, tonumber(redis.call('hget', cart, '#t') or '0') + 1)
  redis.call('hset', cart, '#l', order, '#t', t)
end
local function settle_if_landed(cart, at)
  local order = redis.call('hget', cart, '#o')
  if order and redis.call('exists', '${orderStatusKey("")}' .. order) == 1 then
    settle(cart, order, at)
    return false
  end
  return order
end
`;

/**
 * Defines `catalog_of(cart)`: each line's variant catalog entry as stored (JSON text, or false when
 * Redis has none), as a flat `[variantId, entry, ...]` list.
 */
export const CATALOG = `
local function catalog_of(cart)
  local out = {}
  for _, f in ipairs(redis.call('hkeys', cart)) do
    if string.sub(f, 1, 1) ~= '#' then
      out[#out + 1] = f
      out[#out + 1] = redis.call('get', '${variantKey("")}' .. f) or false
    end
  end
  return out
end
`;

/**
 * The client's limit on cart changes, counted by the change itself, so it costs no round trip of its
 * own: a counter per client (KEYS[2]) and fixed window, ARGV[i] changes per ARGV[i + 1] ms (0: no
 * limit). Sets `remaining` (-1 without a limit); over the limit the script answers `{rateLimited, ms
 * left in the window}` before touching anything. A refused change counts too, as every attempt does.
 */
const LIMIT = (i: number) => `
local remaining = -1
local limit_max = tonumber(ARGV[${i}])
if limit_max > 0 then
  local window = tonumber(ARGV[${i + 1}])
  local counter = KEYS[2] .. ':' .. math.floor(now / window)
  local count = redis.call('incr', counter)
  if count == 1 then redis.call('pexpire', counter, window) end
  if count > limit_max then return {${STATUS.rateLimited}, redis.call('pttl', counter)} end
  remaining = limit_max - count
end
`;

/**
 * Needs LIMIT before it. Sets `line`, the variant the change is for, and `currency`, its product's.
 * Given the currency (`given`: the worker read the product itself and chose the variant), `line` is
 * ARGV[2] as it is. Otherwise both come from the catalog cache entry KEYS[3] (an entry holds
 * `{v: {product, version}, t}`; see catalog/read-through.ts): with `mode` 'v', ARGV[2] is a variant
 * id and must be a live variant of the entry's product; with 'p', ARGV[2] is a product id, whose one
 * variant it means (variantRequired when it has several). Answers catalogMiss when the entry is absent
 * or unreadable, noProduct when it holds the product as absent, and noVariant when the product has no
 * such variant. Freshness is the worker's concern: it prices the cart from the same entries and
 * refreshes a stale one.
 */
const PRODUCT = (given: string, mode: string) => `
local currency = ${given}
local line = ARGV[2]
if currency == '' then
  local text = redis.call('get', KEYS[3])
  if not text then return {${STATUS.catalogMiss}, 0, {}, {}, remaining} end
  local ok, entry = pcall(cjson.decode, text)
  if not ok or type(entry) ~= 'table' or type(entry.v) ~= 'table' then
    return {${STATUS.catalogMiss}, 0, {}, {}, remaining}
  end
  local product = entry.v.product
  if type(product) ~= 'table' or type(product.currency) ~= 'string' or type(product.variants) ~= 'table' then
    return {${STATUS.noProduct}, 0, {}, {}, remaining}
  end
  currency = product.currency
  if ${mode} == 'p' then
    if #product.variants ~= 1 then return {${STATUS.variantRequired}, 0, {}, {}, remaining} end
    line = product.variants[1].variantId
  else
    local live = false
    for _, variant in ipairs(product.variants) do
      if variant.variantId == line then live = true end
    end
    if not live then return {${STATUS.noVariant}, 0, {}, {}, remaining} end
  end
end
`;

/** Shared prologue: KEYS[1] cart; sets `now`, defines the helpers. */
const HEAD = `
local key = KEYS[1]
${CLOCK}
${SETTLE}
${CATALOG}
`;

/** Checks the cart is live and settles a landed checkout (`pending`: the order it still waits for). */
const LIVE = `
if redis.call('exists', key) == 0 then return {${STATUS.missing}} end
if redis.call('hexists', key, '#d') == 1 then return {${STATUS.deleted}} end
local pending = settle_if_landed(key, now)
`;

/** HEAD and LIVE, for a script that changes nothing. */
const PROLOGUE = `${HEAD}${LIVE}`;

/** A change of a frozen cart is refused, naming the order it is being placed as. */
const NOT_FROZEN = `
if pending then return {${STATUS.frozen}, pending} end
`;

/** Marks a change: bumps `#t` past its old value, refreshes the TTL (ARGV[1] ms) and answers the cart. */
const TOUCH = `
local t = math.max(now, tonumber(redis.call('hget', key, '#t') or '0') + 1)
redis.call('hset', key, '#t', t)
redis.call('pexpire', key, ARGV[1])
return {${STATUS.ok}, t, redis.call('hgetall', key), catalog_of(key), remaining}
`;

/** Defines `line_count(cart)`: the cart's lines (fields not starting with #). */
const LINE_COUNT = `
local function line_count(cart)
  local n = 0
  for _, f in ipairs(redis.call('hkeys', cart)) do
    if string.sub(f, 1, 1) ~= '#' then n = n + 1 end
  end
  return n
end
`;

/**
 * KEYS: cart, limit counter, the catalog entry of the variant (mode 'v') or product ('p'). ARGV: ttl,
 * variant or product id, qty, maxQty, maxLines, currency ('' to take it from the catalog entry), mode,
 * limit, limit window ms.
 */
export const ADD_ITEM = `${HEAD}${LIMIT(8)}${PRODUCT("ARGV[6]", "ARGV[7]")}${LIVE}${NOT_FROZEN}${LINE_COUNT}
local current = tonumber(redis.call('hget', key, line) or '0')
local cartCurrency = redis.call('hget', key, '#c')
if cartCurrency and cartCurrency ~= currency and line_count(key) > 0 then return {${STATUS.currency}, cartCurrency} end
if current + tonumber(ARGV[3]) > tonumber(ARGV[4]) then return {${STATUS.lineLimit}, current} end
if current == 0 and line_count(key) >= tonumber(ARGV[5]) then return {${STATUS.linesLimit}} end
redis.call('hset', key, line, current + tonumber(ARGV[3]), '#c', currency)
${TOUCH}`;

/**
 * KEYS: cart, limit counter, the variant's catalog entry. ARGV: ttl, variantId, qty (0 removes),
 * maxLines, currency ('' to take it from the catalog entry; unused when removing, so a line whose
 * variant is gone can be removed), limit, limit window ms.
 */
export const SET_QTY = `${HEAD}${LIMIT(6)}
local qty = tonumber(ARGV[3])
${PRODUCT("qty == 0 and '-' or ARGV[5]", "'v'")}${LIVE}${NOT_FROZEN}${LINE_COUNT}
if qty == 0 then
  redis.call('hdel', key, line)
else
  local exists = redis.call('hexists', key, line) == 1
  local cartCurrency = redis.call('hget', key, '#c')
  if cartCurrency and cartCurrency ~= currency and line_count(key) > (exists and 1 or 0) then return {${STATUS.currency}, cartCurrency} end
  if not exists and line_count(key) >= tonumber(ARGV[4]) then return {${STATUS.linesLimit}} end
  redis.call('hset', key, line, qty, '#c', currency)
end
${TOUCH}`;

/** ARGV: ttl. Answers the cart without changing it (beyond settling a landed checkout). */
export const READ = `${PROLOGUE}
return {${STATUS.ok}, tonumber(redis.call('hget', key, '#t') or '0'), redis.call('hgetall', key), catalog_of(key)}
`;

/** KEYS: cart, limit counter. ARGV: ttl, limit, limit window ms. A new, empty cart. */
export const CREATE = `
local key = KEYS[1]
${CLOCK}${LIMIT(2)}
redis.call('hset', key, '#t', now)
redis.call('pexpire', key, ARGV[1])
return {${STATUS.ok}, now, redis.call('hgetall', key), {}, remaining}
`;

/**
 * KEYS: cart, limit counter. ARGV: ttl, limit, limit window ms. Replaces the cart with a tombstone so
 * it is never restored; answers its old status.
 */
export const DELETE = `${HEAD}${LIMIT(2)}${LIVE}${NOT_FROZEN}
local t = math.max(now, tonumber(redis.call('hget', key, '#t') or '0') + 1)
redis.call('del', key)
redis.call('hset', key, '#d', 1, '#t', t)
redis.call('pexpire', key, ARGV[1])
return {${STATUS.ok}, t, {}, {}, remaining}
`;

/** ARGV: ttl (remaining ms), updatedAtMs, then variantId, qty pairs. Restores a lost cart unless one exists. */
export const RESTORE = `
local key = KEYS[1]
if redis.call('exists', key) == 1 then return 0 end
redis.call('hset', key, '#t', ARGV[2])
for i = 3, #ARGV, 2 do redis.call('hset', key, ARGV[i], ARGV[i + 1]) end
redis.call('pexpire', key, ARGV[1])
return 1
`;

/**
 * KEYS: guest cart, target cart. ARGV: ttl, maxQty, maxLines. Moves the guest cart's lines into the
 * target in one step: quantities summed up to maxQty a line, new lines while the target has fewer
 * than maxLines, and nothing when the target holds lines priced in another currency. The guest cart
 * becomes a tombstone. A missing, deleted or frozen cart on either side changes nothing.
 * Answers `{ok, target #t, target fields, guest #t, {variantId, qty not merged, ...}}`, or
 * `{missing|deleted, 'guest'|'target'}`, or `{frozen, orderId}`.
 */
export const MERGE = `
local guest = KEYS[1]
local target = KEYS[2]
${CLOCK}
${SETTLE}
local function refused(key, which)
  if redis.call('exists', key) == 0 then return {${STATUS.missing}, which} end
  if redis.call('hexists', key, '#d') == 1 then return {${STATUS.deleted}, which} end
  local pending = settle_if_landed(key, now)
  if pending then return {${STATUS.frozen}, pending} end
  return false
end
local no = refused(target, 'target') or refused(guest, 'guest')
if no then return no end
${LINE_COUNT}local maxQty = tonumber(ARGV[2])
local maxLines = tonumber(ARGV[3])
local count = line_count(target)
local currency = redis.call('hget', target, '#c')
local guestCurrency = redis.call('hget', guest, '#c')
local sameCurrency = count == 0 or not currency or not guestCurrency or currency == guestCurrency
local notMerged = {}
local merged = 0
local fields = redis.call('hgetall', guest)
for i = 1, #fields, 2 do
  local variant = fields[i]
  if string.sub(variant, 1, 1) ~= '#' then
    local qty = tonumber(fields[i + 1])
    local have = tonumber(redis.call('hget', target, variant) or '0')
    local add = 0
    if sameCurrency then
      if have > 0 then
        add = math.max(0, math.min(qty, maxQty - have))
      elseif count < maxLines then
        add = math.min(qty, maxQty)
        count = count + 1
      end
    end
    if add > 0 then
      redis.call('hset', target, variant, have + add)
      merged = merged + 1
    end
    if add < qty then
      table.insert(notMerged, variant)
      table.insert(notMerged, qty - add)
    end
  end
end
if merged > 0 and guestCurrency then redis.call('hset', target, '#c', guestCurrency) end
local t = math.max(now, tonumber(redis.call('hget', target, '#t') or '0') + 1)
redis.call('hset', target, '#t', t)
redis.call('pexpire', target, ARGV[1])
local gt = math.max(now, tonumber(redis.call('hget', guest, '#t') or '0') + 1)
redis.call('del', guest)
redis.call('hset', guest, '#d', 1, '#t', gt)
redis.call('pexpire', guest, ARGV[1])
return {${STATUS.ok}, t, redis.call('hgetall', target), gt, notMerged}
`;
