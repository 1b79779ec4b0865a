import DataLoader from "dataloader";
import type { Db } from "../../../db/node-client.ts";

/**
 * Reads and writes of one database issued in the same tick, gathered into one call of `load`
 * (DataLoader): the `prepare` steps of a lane's batch run side by side, so what each asks of Postgres
 * by its own key becomes one statement for all of them. Nothing is cached: every load reads afresh.
 * `load` answers one value per key, in the order of the keys; an Error in its place fails that load
 * alone.
 */
export const batchedLoads = <K, V>(
  load: (db: Db, keys: readonly K[]) => Promise<Array<V | Error>>,
): ((db: Db) => DataLoader<K, V>) => {
  const loaders = new WeakMap<Db, DataLoader<K, V>>();
  return (db) => {
    let loader = loaders.get(db);
    if (!loader) {
      loader = new DataLoader((keys) => load(db, keys), { cache: false, maxBatchSize: 500 });
      loaders.set(db, loader);
    }
    return loader;
  };
};
