import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Latest Apache Kafka 4.x on Maven Central when this module was written; override with KAFKA_VERSION. */
export const DEFAULT_KAFKA_VERSION = "4.4.0";

/** The repository root: the nearest ancestor of this file holding a package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("local/kafka: no package.json above this module");
    dir = parent;
  }
  return dir;
}

export function kafkaVersion(version?: string): string {
  return version ?? process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION;
}

/** `<cache>/<version>`; the cache root is `KAFKA_CACHE_DIR` or `<repo>/.cache/kafka`. */
export function versionDir(version: string, cacheDir?: string): string {
  const root = cacheDir ?? process.env.KAFKA_CACHE_DIR ?? join(repoRoot(), ".cache", "kafka");
  return resolve(root, version);
}

export function defaultDataDir(): string {
  return resolve(process.env.KAFKA_DATA_DIR ?? join(repoRoot(), ".local", "kafka-data"));
}
