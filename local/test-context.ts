/** What the test global setup hands every test project through `inject("stack")`. */
export interface TestStackContext {
  redisUrl: string;
  databaseUrl: string;
  kafkaBrokers: string;
  redisRestUrl: string;
  redisRestToken: string;
  neonUrl: string;
  kafkaRestUrl: string;
  kafkaRestUsername: string;
  kafkaRestPassword: string;
  adminToken: string;
  /** Fault drills: a throwaway PostgreSQL that tests stop and start (see local/drills.ts). */
  drillControlUrl: string;
  drillDatabaseUrl: string;
  drillNeonUrl: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: TestStackContext;
  }
}
