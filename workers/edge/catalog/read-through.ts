import type { Redis } from "@upstash/redis";
import { log } from "../../platform/log.ts";
import type { OriginGuard } from "../limits/origin-guard.ts";

/** How the Redis cache answered: fresh entry, filled from the origin now, or an old entry. */
export type CacheStatus = "HIT" | "MISS" | "STALE";

export interface CachePolicy<T> {
  /** Age up to which an entry is served as fresh. */
  freshMs: number;
  /**
   * How long Redis keeps an entry, so it can be served stale while the origin is slow or down; per
   * value when some values (a product that does not exist) must not stay long.
   */
  keepMs: number | ((value: T) => number);
  /**
   * Version of a value (e.g. its `updatedAt`). When given, a write never replaces a newer entry, so
   * a slow filler holding an old read cannot overwrite a write-through of an update.
   */
  version?: (value: T) => number;
}

interface Entry<T> {
  v: T;
  /** Epoch ms when the entry was stored. */
  t: number;
  /** Version of `v`, when the policy has one. */
  u?: number;
}

export interface ReadThroughDeps {
  redis: Redis;
  /** Runs work after the answer (`ctx.waitUntil` at the edge). */
  background: (work: Promise<unknown>) => void;
  /** Per-isolate map of origin fetches in flight, so concurrent requests share one. */
  inflight: Map<string, Promise<unknown>>;
  /** Every read of the origin asks it first (the request's limits); a refresh, only the global one. */
  guard?: OriginGuard;
  now?: () => number;
}

const LEASE_MS = 5_000;
/** Entries, and bytes of them, written in one pipeline by `writeMany` (well inside a REST body limit). */
const WRITE_MANY_CHUNK = 500;
const WRITE_MANY_BYTES = 512 * 1024;
const POLL_MS = 25;

/** SET unless the stored entry has a higher version. KEYS[1]=entry; ARGV=json, version, px. */
const WRITE_IF_NEWER = `
local current = redis.call('get', KEYS[1])
if current then
  local ok, entry = pcall(cjson.decode, current)
  if ok and type(entry) == 'table' and entry.u and entry.u > tonumber(ARGV[2]) then return 0 end
end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`;

const RELEASE_LEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/** In-flight map key of a shared Redis lookup (fills and refreshes use the entry's own key). */
const readKey = (key: string): string => `read\n${key}`;
/** A background refresh answers nothing: a read that finds no entry must not join one. */
const refreshKey = (key: string): string => `refresh\n${key}`;

/** An entry as stored (JSON text); anything unreadable counts as absent, so it is filled again. */
const parseEntry = <T>(text: string | null | undefined): Entry<T> | null => {
  if (!text) return null;
  try {
    const entry = JSON.parse(text) as Entry<T> | null;
    return entry && typeof entry === "object" && typeof entry.t === "number" ? entry : null;
  } catch {
    return null;
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Read-through cache over Redis that does not stampede the origin: within an isolate concurrent
 * misses share one promise, and across isolates a short Redis lease elects one filler while the
 * others wait for the entry it writes. Stale entries are served while a refresh runs in the
 * background, and when the origin fails. With a `guard`, every read of the origin is counted against
 * the request's limits first (a 429 instead of a query); a refresh past the global ceiling is
 * skipped, the stale entry served.
 */
export class ReadThrough {
  constructor(private readonly deps: ReadThroughDeps) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /**
   * Concurrent reads of one key in an isolate share one Redis lookup and its outcome, so while Redis
   * is slow or down they also share one origin read: a hung Redis costs its deadline, not a stampede.
   * A read that joins a lookup in flight gets the entry as of that lookup (one Redis round trip at
   * most); a write in this isolate ends the sharing, so a read after it always looks again.
   */
  read<T>(
    key: string,
    policy: CachePolicy<T>,
    load: () => Promise<T>,
  ): Promise<{ value: T; status: CacheStatus }> {
    return this.coalesce(readKey(key), () => this.readOnce(key, policy, load));
  }

  private async readOnce<T>(
    key: string,
    policy: CachePolicy<T>,
    load: () => Promise<T>,
  ): Promise<{ value: T; status: CacheStatus }> {
    let entry: Entry<T> | null;
    try {
      entry = await this.deps.redis.get<Entry<T>>(key);
    } catch (error) {
      log("warn", "catalog cache unreachable; reading the origin", { key, error: errorMessage(error) });
      return { value: await this.coalesce(key, this.guarded(load)), status: "MISS" };
    }
    return this.answer(key, entry, policy, load);
  }

  /**
   * `read` for several keys with one round trip to Redis (MGET); each key then goes its own way
   * (fresh, stale with a refresh, or filled from the origin) exactly as `read` would.
   */
  async readMany<T>(
    keys: readonly string[],
    policy: CachePolicy<T>,
    load: (key: string, index: number) => Promise<T>,
  ): Promise<Array<{ value: T; status: CacheStatus }>> {
    if (keys.length === 0) return [];
    let entries: Array<Entry<T> | null>;
    try {
      entries = await this.deps.redis.mget<Array<Entry<T> | null>>(...keys);
    } catch (error) {
      log("warn", "catalog cache unreachable; reading the origin", { keys, error: errorMessage(error) });
      return Promise.all(
        keys.map(async (key, i) => ({
          value: await this.coalesce(
            key,
            this.guarded(() => load(key, i)),
          ),
          status: "MISS" as const,
        })),
      );
    }
    return this.answerAll(keys, entries, policy, load);
  }

  /**
   * `readMany` for entries already read from Redis by someone else (a script that answered them with
   * its own reply, as stored: JSON text, or null when absent); no Redis call for the lookup itself.
   */
  answerStored<T>(
    keys: readonly string[],
    stored: ReadonlyArray<string | null | undefined>,
    policy: CachePolicy<T>,
    load: (key: string, index: number) => Promise<T>,
  ): Promise<Array<{ value: T; status: CacheStatus }>> {
    return this.answerAll(keys, stored.map(parseEntry<T>), policy, load);
  }

  private answerAll<T>(
    keys: readonly string[],
    entries: ReadonlyArray<Entry<T> | null | undefined>,
    policy: CachePolicy<T>,
    load: (key: string, index: number) => Promise<T>,
  ): Promise<Array<{ value: T; status: CacheStatus }>> {
    return Promise.all(
      keys.map((key, i) => this.answer(key, entries[i] ?? null, policy, () => load(key, i))),
    );
  }

  private async answer<T>(
    key: string,
    entry: Entry<T> | null,
    policy: CachePolicy<T>,
    load: () => Promise<T>,
  ): Promise<{ value: T; status: CacheStatus }> {
    if (entry && this.now() - entry.t < policy.freshMs) return { value: entry.v, status: "HIT" };
    if (entry) {
      const stale = entry;
      this.deps.background(
        this.coalesce(refreshKey(key), () => this.refresh(key, policy, load)).catch((error: unknown) => {
          log("warn", "background refresh failed; stale entry kept", { key, error: errorMessage(error) });
        }),
      );
      return { value: stale.v, status: "STALE" };
    }
    // Counted before the fill: a refused miss costs no lease, and one admitted is this request's.
    await this.deps.guard?.admit();
    return { value: await this.coalesce(key, () => this.fill(key, policy, load)), status: "MISS" };
  }

  /**
   * Reads the origin now, for a caller that already knows Redis holds no entry (a script looked):
   * concurrent reads of the key in this isolate share one origin read, and the entry is written after
   * the answer. No lease: the caller does not wait for another isolate's fill.
   */
  async loadNow<T>(key: string, policy: CachePolicy<T>, load: () => Promise<T>): Promise<T> {
    const value = await this.coalesce(key, this.guarded(load));
    this.deps.background(this.store(key, policy, value));
    return value;
  }

  /** Replaces an entry now (write-through after an update of the record). */
  async write<T>(key: string, policy: CachePolicy<T>, value: T): Promise<void> {
    const keepMs = typeof policy.keepMs === "number" ? policy.keepMs : policy.keepMs(value);
    if (!policy.version) {
      await this.deps.redis.set<Entry<T>>(key, { v: value, t: this.now() }, { px: keepMs });
    } else {
      const version = policy.version(value);
      const entry: Entry<T> = { v: value, t: this.now(), u: version };
      await this.deps.redis.eval(
        WRITE_IF_NEWER,
        [key],
        [JSON.stringify(entry), String(version), String(keepMs)],
      );
    }
    // Reads from now on look again rather than join a lookup that began before this write landed.
    this.deps.inflight.delete(readKey(key));
  }

  /**
   * `write` for many entries of a versioned policy, in pipelines of at most `WRITE_MANY_CHUNK` entries
   * and `WRITE_MANY_BYTES` of JSON (one round trip each): the write-through of a change that touches
   * thousands of records at once.
   */
  async writeMany<T>(
    entries: ReadonlyArray<{ key: string; value: T }>,
    policy: CachePolicy<T>,
  ): Promise<void> {
    const version = policy.version;
    if (!version) throw new Error("writeMany needs a versioned policy");
    let pipeline = this.deps.redis.pipeline();
    let queued = 0;
    let bytes = 0;
    for (const { key, value } of entries) {
      const keepMs = typeof policy.keepMs === "number" ? policy.keepMs : policy.keepMs(value);
      const entry: Entry<T> = { v: value, t: this.now(), u: version(value) };
      const json = JSON.stringify(entry);
      if (queued > 0 && (queued >= WRITE_MANY_CHUNK || bytes + json.length > WRITE_MANY_BYTES)) {
        await pipeline.exec();
        pipeline = this.deps.redis.pipeline();
        queued = 0;
        bytes = 0;
      }
      pipeline.eval(WRITE_IF_NEWER, [key], [json, String(entry.u), String(keepMs)]);
      queued++;
      bytes += json.length;
    }
    if (queued > 0) await pipeline.exec();
    for (const { key } of entries) this.deps.inflight.delete(readKey(key));
  }

  /**
   * The version of the stored entry (undefined: no entry, or one without a version). Always its own
   * Redis read, never a shared one: callers check that nothing was written since a moment they know.
   */
  async storedVersion(key: string): Promise<number | undefined> {
    return (await this.deps.redis.get<Entry<unknown>>(key))?.u;
  }

  /** Drops an entry, so the next read fills it from the origin. */
  async forget(key: string): Promise<void> {
    await this.deps.redis.del(key);
  }

  /** `load`, asking the request's guard first (429 past a limit). */
  private guarded<T>(load: () => Promise<T>): () => Promise<T> {
    const guard = this.deps.guard;
    if (!guard) return load;
    return async () => {
      await guard.admit();
      return load();
    };
  }

  private coalesce<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.deps.inflight.get(key);
    if (running) return running as Promise<T>;
    const started: Promise<T> = work().finally(() => {
      // Only our own entry: a write may have ended the sharing and a newer read taken the slot.
      if (this.deps.inflight.get(key) === started) this.deps.inflight.delete(key);
    });
    this.deps.inflight.set(key, started);
    return started;
  }

  private async store<T>(key: string, policy: CachePolicy<T>, value: T): Promise<void> {
    await this.write(key, policy, value).catch((error: unknown) => {
      log("warn", "catalog cache write failed", { key, error: errorMessage(error) });
    });
  }

  /** Drops a lease only if it is still ours; a lapsed lease may already belong to another filler. */
  private async release(leaseKey: string, token: string): Promise<void> {
    await this.deps.redis
      .eval(RELEASE_LEASE, [leaseKey], [token])
      .catch((error: unknown) =>
        log("warn", "lease release failed; it expires by itself", { leaseKey, error: errorMessage(error) }),
      );
  }

  /**
   * Fills a missing entry: one filler across isolates holds the lease; the rest wait for its entry.
   * When Redis fails on the way the origin is read anyway (still once per isolate: fills of a key are
   * coalesced); storing the value is best effort.
   */
  private async fill<T>(key: string, policy: CachePolicy<T>, load: () => Promise<T>): Promise<T> {
    const leaseKey = `${key}:lease`;
    const deadline = this.now() + LEASE_MS * 2;
    const redisFailed = (error: unknown): Promise<T> => {
      log("warn", "catalog cache failed during a fill; reading the origin", {
        key,
        error: errorMessage(error),
      });
      return load();
    };
    while (this.now() < deadline) {
      const token = crypto.randomUUID();
      let acquired: unknown;
      try {
        acquired = await this.deps.redis.set(leaseKey, token, { nx: true, px: LEASE_MS });
      } catch (error) {
        return redisFailed(error);
      }
      if (acquired) {
        try {
          const value = await load();
          await this.store(key, policy, value);
          return value;
        } finally {
          await this.release(leaseKey, token);
        }
      }
      // Another isolate is filling: wait for its entry, or for its lease to lapse.
      while (this.now() < deadline) {
        await sleep(POLL_MS);
        let polled: [Entry<T> | null, string | null];
        try {
          polled = await this.deps.redis.mget<[Entry<T> | null, string | null]>(key, leaseKey);
        } catch (error) {
          return redisFailed(error);
        }
        const [entry, holder] = polled;
        if (entry) return entry.v;
        if (!holder) break;
      }
    }
    // The filler never finished in time: read the origin ourselves rather than fail the request.
    return load();
  }

  /** Refreshes a stale entry unless another isolate already is. */
  private async refresh<T>(key: string, policy: CachePolicy<T>, load: () => Promise<T>): Promise<void> {
    const leaseKey = `${key}:lease`;
    const token = crypto.randomUUID();
    if (!(await this.deps.redis.set(leaseKey, token, { nx: true, px: LEASE_MS }))) return;
    try {
      // Past the global ceiling the stale entry is answer enough; the next read refreshes it.
      if (this.deps.guard && !(await this.deps.guard.admitRefresh())) return;
      await this.store(key, policy, await load());
    } finally {
      await this.release(leaseKey, token);
    }
  }
}
