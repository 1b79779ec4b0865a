import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { pairProblems, productionProblems, readWorkerConfig, type WorkerConfig } from "./workers.ts";

const production = {
  storefront: readWorkerConfig("storefront", "production"),
  checkout: readWorkerConfig("checkout", "production"),
};
const local = {
  storefront: readWorkerConfig("storefront", undefined),
  checkout: readWorkerConfig("checkout", undefined),
};
const changed = (config: WorkerConfig, change: (c: WorkerConfig) => void): WorkerConfig => {
  const copy = structuredClone(config);
  change(copy);
  return copy;
};

describe("the workers' production configuration", () => {
  it("is fit to deploy: no local value, a custom domain, no public checkout URL, source maps, required secrets", () => {
    expect(productionProblems("storefront", production.storefront)).toEqual([]);
    expect(productionProblems("checkout", production.checkout)).toEqual([]);
    expect(pairProblems(production.storefront, production.checkout)).toEqual([]);
    expect(production.storefront.routes).toEqual([{ pattern: "shop.example.com", custom_domain: true }]);
    expect(production.checkout.secrets?.required).toContain("CUSTOMER_TOKEN_SECRET");
  });

  it("fails on a setting that points at 127.0.0.1 or localhost, as the local configuration does", () => {
    const pointing = (value: string) =>
      productionProblems(
        "storefront",
        changed(production.storefront, (c) => {
          c.vars.CORS_ALLOWED_ORIGINS = value;
        }),
      );
    expect(pointing("http://127.0.0.1:5173")).toContain(
      "storefront: a deployed setting points at 127.0.0.1, which is the worker itself",
    );
    expect(pointing("http://localhost:5173").join()).toContain("points at localhost");
    expect(productionProblems("storefront", local.storefront).join()).toContain("points at 127.0.0.1");
    expect(productionProblems("checkout", local.checkout).join()).toContain("points at 127.0.0.1");
  });

  it("fails on a storefront without a domain, a public checkout, or image URLs the two workers disagree on", () => {
    const noRoute = changed(production.storefront, (c) => {
      c.routes = [];
      c.workers_dev = true;
    });
    expect(productionProblems("storefront", noRoute)).toEqual(
      expect.arrayContaining([
        "storefront: needs a route or custom domain (the Cache API does nothing on workers.dev)",
        "storefront: workers_dev must be false (one public origin)",
      ]),
    );
    const publicCheckout = changed(production.checkout, (c) => {
      c.workers_dev = true;
    });
    expect(productionProblems("checkout", publicCheckout)).toContain(
      "checkout: must have no public URL (workers_dev = false, no routes)",
    );
    const otherMedia = changed(production.checkout, (c) => {
      c.vars.MEDIA_BASE_URL = "https://cdn.example.com/media";
    });
    expect(pairProblems(production.storefront, otherMedia)).toEqual([
      "MEDIA_BASE_URL differs between the storefront and checkout",
    ]);
  });

  it("keeps the same vars at the top level and in production (vars are not inherited)", () => {
    for (const worker of ["storefront", "checkout"] as const) {
      expect(Object.keys(production[worker].vars).sort()).toEqual(Object.keys(local[worker].vars).sort());
    }
  });

  it("refuses a real deploy with the placeholder domain, and passes `npm run deploy -- --dry-run`", () => {
    expect(productionProblems("storefront", production.storefront, { placeholder: true })).toContain(
      "storefront: replace example.com in wrangler.toml with the shop's domain",
    );
    const dry = spawnSync("node_modules/.bin/tsx", ["deploy/deploy.ts", "--dry-run"], { encoding: "utf8" });
    expect(dry.stderr).not.toMatch(/deploy: .*not fit/);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain("bundle (dry run) checkout (production)");
    expect(dry.stdout).toContain("bundle (dry run) storefront (production)");
    expect(dry.stdout).toContain("deploy: dry run passed (production)");
  }, 120_000);
});
