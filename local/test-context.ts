/** What the test global setup hands every test project through `inject("stack")`. */
export interface TestStackContext {
  redisUrl: string;
  databaseUrl: string;
  kafkaBrokers: string;
  /** This test run's prefix of every Kafka topic and consumer group (`test-<id>.`). */
  kafkaTopicPrefix: string;
  redisRestUrl: string;
  redisRestToken: string;
  neonUrl: string;
  kafkaRestUrl: string;
  kafkaRestUsername: string;
  kafkaRestPassword: string;
  adminToken: string;
  /**
   * Fault drills (see local/drills.ts): a throwaway PostgreSQL that tests stop and start, and a
   * throwaway Redis behind its own REST endpoint that tests pause and resume, all through
   * `drillControlUrl` (`POST /postgres/stop|start`, `POST /redis/pause|resume`).
   */
  drillControlUrl: string;
  drillDatabaseUrl: string;
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
