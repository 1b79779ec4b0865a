import { unstable_readConfig } from "wrangler";
import { StorefrontSettingsSchema } from "../workers/platform/settings.ts";

/**
 * The two workers' wrangler configs as `wrangler deploy --env <env>` resolves them, and what makes one
 * unfit for production: checked by `npm run deploy` before it deploys anything, and by the tests.
 */
export const WORKER_CONFIGS = {
  checkout: "workers/checkout/wrangler.toml",
  storefront: "wrangler.toml",
} as const;
export type WorkerName = keyof typeof WORKER_CONFIGS;

export type WorkerConfig = ReturnType<typeof unstable_readConfig>;

export const readWorkerConfig = (worker: WorkerName, env: string | undefined): WorkerConfig =>
  unstable_readConfig({ config: WORKER_CONFIGS[worker], ...(env ? { env } : {}) }, { hideWarnings: true });

/** Hosts that only answer on the machine that runs them: never in a deployed setting. */
const LOCAL_HOST = /\b(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])\b/i;
/** The placeholder domain of the committed production config, to be replaced by the team's own. */
export const PLACEHOLDER_DOMAIN = "example.com";

/** What a deployment reads from a config: its vars, routes and bindings (secrets are not in it). */
const deployedValues = (config: WorkerConfig) => ({
  vars: config.vars,
  routes: config.routes ?? [],
  services: config.services ?? [],
  r2: config.r2_buckets ?? [],
});

const routePattern = (route: NonNullable<WorkerConfig["routes"]>[number]): string =>
  typeof route === "string" ? route : route.pattern;

/**
 * Everything that would make `config` (a worker's config for one environment) fail in production,
 * one sentence each; none for a config fit to deploy. `placeholder`: also refuse the committed
 * placeholder domain (a real deploy; a dry run accepts it).
 */
export const productionProblems = (
  worker: WorkerName,
  config: WorkerConfig,
  o: { placeholder?: boolean } = {},
): string[] => {
  const problems: string[] = [];
  const values = JSON.stringify(deployedValues(config));
  const local = values.match(LOCAL_HOST);
  if (local) problems.push(`${worker}: a deployed setting points at ${local[0]}, which is the worker itself`);
  if (o.placeholder && values.includes(PLACEHOLDER_DOMAIN))
    problems.push(
      `${worker}: replace ${PLACEHOLDER_DOMAIN} in ${WORKER_CONFIGS[worker]} with the shop's domain`,
    );
  if (config.minify !== true) problems.push(`${worker}: minify is off`);
  if (config.upload_source_maps !== true)
    problems.push(`${worker}: upload_source_maps is off (production stack traces unreadable)`);
  if (config.preview_urls !== false) problems.push(`${worker}: preview_urls must be false`);
  const required = new Set(config.secrets?.required ?? []);
  if (required.size === 0) problems.push(`${worker}: [secrets] required lists no secret`);
  const routes = (config.routes ?? []).map(routePattern);
  if (worker === "checkout") {
    if (config.workers_dev !== false || routes.length > 0)
      problems.push("checkout: must have no public URL (workers_dev = false, no routes)");
  } else {
    if (routes.length === 0)
      problems.push("storefront: needs a route or custom domain (the Cache API does nothing on workers.dev)");
    if (config.workers_dev !== false)
      problems.push("storefront: workers_dev must be false (one public origin)");
    const base = String(config.vars.MEDIA_BASE_URL ?? "");
    if (!base.startsWith("https://")) problems.push("storefront: MEDIA_BASE_URL must be an https:// URL");
    const host = base.replace(/^https:\/\//, "").split("/")[0] ?? "";
    if (host && !routes.some((r) => r.split("/")[0] === host))
      problems.push(
        `storefront: MEDIA_BASE_URL's host ${host} is not one of its routes (images would miss the cache)`,
      );
    for (const name of Object.keys(config.vars)) {
      if (!(name in StorefrontSettingsSchema.shape))
        problems.push(`storefront: ${name} is not a setting it reads`);
    }
  }
  return problems;
};

/**
 * Problems of the pair: both fill one catalog cache, so both build image URLs from one MEDIA_BASE_URL,
 * and the storefront's CHECKOUT binding names the checkout worker of the same environment.
 */
export const pairProblems = (storefront: WorkerConfig, checkout: WorkerConfig): string[] => {
  const problems: string[] = [];
  if (storefront.vars.MEDIA_BASE_URL !== checkout.vars.MEDIA_BASE_URL)
    problems.push("MEDIA_BASE_URL differs between the storefront and checkout");
  const bound = (storefront.services ?? []).find((s) => s.binding === "CHECKOUT")?.service;
  if (bound !== checkout.name)
    problems.push(`the storefront's CHECKOUT binding names ${bound}, not ${checkout.name}`);
  return problems;
};
