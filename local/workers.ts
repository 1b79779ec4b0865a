import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { STOREFRONT_ASSETS_DIR } from "./docs-assets.ts";
import type { TestStackContext } from "./test-context.ts";
import { CHECKOUT_BUNDLE, STOREFRONT_BUNDLE } from "./test-setup.ts";

/**
 * The bundled storefront and checkout workers in one Miniflare, on the services of the test stack
 * (e2e/) or of the benchmarks (bench/).
 */
export interface Workers {
  /** Base URL of the storefront (the one public base URL of the API). */
  url: string;
  dispose(): Promise<void>;
}

const COMPAT = { compatibilityDate: "2026-10-01", compatibilityFlags: ["nodejs_compat"] };

/** The services the workers reach: the test stack's, or the benchmark's. */
export type WorkerServices = Pick<
  TestStackContext,
  | "redisRestUrl"
  | "redisRestToken"
  | "kafkaRestUrl"
  | "kafkaRestUsername"
  | "kafkaRestPassword"
  | "kafkaTopicPrefix"
  | "edgeDatabaseUrl"
  | "cacheRedisRestUrl"
  | "cacheRedisRestToken"
  | "neonUrl"
  | "adminToken"
>;

/** The Stripe webhook signing secret of test runs (tests sign their events with it). */
export const TEST_STRIPE_WEBHOOK_SECRET = "whsec_test_secret";

/** Bindings that point the edge clients at the stack's local endpoints (vitest.config.ts uses them too). */
export const workerBindings = (stack: WorkerServices): Record<string, string> => ({
  UPSTASH_REDIS_REST_URL: stack.redisRestUrl,
  UPSTASH_REDIS_REST_TOKEN: stack.redisRestToken,
  CACHE_REDIS_REST_URL: stack.cacheRedisRestUrl,
  CACHE_REDIS_REST_TOKEN: stack.cacheRedisRestToken,
  KAFKA_REST_URL: stack.kafkaRestUrl,
  KAFKA_REST_USERNAME: stack.kafkaRestUsername,
  KAFKA_REST_PASSWORD: stack.kafkaRestPassword,
  KAFKA_TOPIC_PREFIX: stack.kafkaTopicPrefix,
  DATABASE_URL: stack.edgeDatabaseUrl,
  NEON_LOCAL_ENDPOINT: stack.neonUrl,
  ADMIN_TOKEN: stack.adminToken,
  MEDIA_SIGNING_SECRET: "test-media-signing-secret",
  CURSOR_SIGNING_SECRET: "test-cursor-signing-secret",
  CUSTOMER_TOKEN_SECRET: "test-customer-token-secret",
  STRIPE_WEBHOOK_SECRET: TEST_STRIPE_WEBHOOK_SECRET,
  // Failed sign-ins: out of reach of tests and benchmarks that do not target the limit.
  SIGNIN_ACCOUNT_LIMIT: "100000",
  SIGNIN_IP_LIMIT: "100000",
  CORS_ALLOWED_ORIGINS: "http://localhost:*,http://127.0.0.1:*",
  LOG_LEVEL: "warn",
  // Abuse limits out of reach of every test and benchmark (wrangler.toml ships production ones).
  CART_RATE_LIMIT: "100000",
  CART_RATE_WINDOW_SECONDS: "10",
  UPLOAD_RATE_LIMIT: "100000",
  UPLOAD_RATE_WINDOW_SECONDS: "10",
  CHECKOUT_RATE_LIMIT: "100000",
  CHECKOUT_RATE_WINDOW_SECONDS: "10",
  SIGNUP_RATE_LIMIT: "100000",
  SIGNUP_RATE_WINDOW_SECONDS: "10",
  ORIGIN_MISS_LIMIT: "100000",
  ORIGIN_MISS_WINDOW_SECONDS: "10",
  ORIGIN_MISS_GLOBAL_LIMIT: "100000",
});

/** `[vars]` of wrangler.toml (every other setting takes its default, workers/platform/settings.ts). */
const STOREFRONT_VARS = {
  LOG_LEVEL: "info",
  MEDIA_BASE_URL: "http://127.0.0.1:8787/media",
};

/** `[vars]` of workers/checkout/wrangler.toml. */
export const CHECKOUT_VARS = {
  LOG_LEVEL: "info",
  MEDIA_BASE_URL: "http://127.0.0.1:8787/media",
};

/** `vars` overrides `[vars]` of both workers (the benchmarks lift the cart rate limit). */
export const startWorkers = async (
  stack: WorkerServices,
  vars: Record<string, string> = {},
): Promise<Workers> => {
  // This Miniflare takes the v5 config shape; the familiar (v4) worker options convert into it.
  const options = convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    workers: [
      {
        name: "storefront",
        modules: true,
        scriptPath: STOREFRONT_BUNDLE,
        ...COMPAT,
        bindings: { ...STOREFRONT_VARS, ...workerBindings(stack), ...vars },
        serviceBindings: { CHECKOUT: "checkout" },
        r2Buckets: ["MEDIA"],
        // `[assets]` of wrangler.toml (Swagger UI for /docs), copied there when the bundle was built.
        assets: {
          directory: STOREFRONT_ASSETS_DIR,
          // `run_worker_first` of wrangler.toml: only the Swagger UI files skip the worker.
          routerConfig: {
            has_user_worker: true,
            static_routing: { user_worker: ["/*"], asset_worker: ["/docs/swagger-ui/*"] },
          },
        },
      },
      {
        name: "checkout",
        modules: true,
        scriptPath: CHECKOUT_BUNDLE,
        ...COMPAT,
        bindings: { ...CHECKOUT_VARS, ...workerBindings(stack), ...vars },
      },
    ],
  });
  const mf = new Miniflare(options);
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { url, dispose: () => mf.dispose() };
};
