import type { StoredObject } from "./store.ts";

/**
 * Public media in the Workers Cache API of the colo that answers, so repeated requests never reach
 * R2. Entries are whole objects (range and conditional requests are answered from them), keyed by a
 * fixed internal origin. Keys are immutable, so nothing is ever purged; entries live as long as
 * their `max-age` (a year) allows.
 */
const MEDIA_CACHE_ORIGIN = "https://media.edge.internal";

const cacheKey = (key: string): Request => new Request(`${MEDIA_CACHE_ORIGIN}/${key}`);

export const cachedMedia = async (cache: Cache, key: string): Promise<StoredObject | null> => {
  const hit = await cache.match(cacheKey(key));
  return hit?.body ? { headers: new Headers(hit.headers), body: hit.body } : null;
};

export const cacheMedia = (cache: Cache, key: string, object: StoredObject): Promise<void> =>
  cache.put(cacheKey(key), new Response(object.body, { headers: object.headers }));
