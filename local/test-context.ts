/** What the test global setup hands every test project through `inject("stack")`. */
export interface TestStackContext {
  /** The state Redis (never evicts). */
  redisUrl: string;
  databaseUrl: string;
  /** `databaseUrl` as the workers' own role (`storefront_edge`, with its statement_timeout). */
  edgeDatabaseUrl: string;
  /** The cache Redis (may evict: allkeys-lru within `cacheRedisMaxMemory`) and its REST endpoint. */
  cacheRedisUrl: string;
  cacheRedisRestUrl: string;
  cacheRedisRestToken: string;
  cacheRedisMaxMemory: string;
  kafkaBrokers: string;
  /** This test run's prefix of every Kafka topic and consumer group (`test-<id>.`). */
  kafkaTopicPrefix: string;
  redisRestUrl: string;
  redisRestToken: string;
  neonUrl: string;
  kafkaRestUrl: string;
  /** The workers' Kafka REST login (produces their topics, reads nothing). */
  kafkaRestUsername: string;
  kafkaRestPassword: string;
  /** The operators' Kafka REST login (`GET /metrics` only). */
  kafkaRestOpsUsername: string;
  kafkaRestOpsPassword: string;
  adminToken: string;
  /**
   * Fault drills (see local/drills.ts): a throwaway PostgreSQL that tests stop and start, and a
   * throwaway Redis behind its own REST endpoint that tests pause and resume, all through
   * `drillControlUrl` (`POST /postgres/stop|start`, `POST /redis/pause|resume`).
   */
  drillControlUrl: string;
  drillDatabaseUrl: string;
  /** The drill database as the workers' role (`storefront_edge`). */
  drillEdgeDatabaseUrl: string;
  drillNeonUrl: string;
  drillRedisUrl: string;
  drillRedisRestUrl: string;
  drillRedisRestToken: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: TestStackContext;
  }
}
