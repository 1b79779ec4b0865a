import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { CHECKOUT_BUNDLE } from "./local/test-setup.ts";
import { CHECKOUT_VARS, workerBindings } from "./local/workers.ts";

export default defineConfig({
  test: {
    globalSetup: ["./local/test-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          environment: "node",
          // Projects run by group, lowest first; a project without a group would run alongside e2e.
          sequence: { groupOrder: 0 },
          include: ["{domain,db,consumers,services,local,deploy}/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          // Whole-pipeline runs: the files take turns (an advisory lock), so waits and runs are long
          // on a loaded 2-core machine.
          name: "e2e",
          environment: "node",
          include: ["e2e/**/*.test.ts"],
          // After every other project has finished, so the pipeline has the machine to itself.
          sequence: { groupOrder: 1 },
          testTimeout: 300_000,
          hookTimeout: 900_000,
        },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: workerBindings(inject("stack")),
              // The checkout worker behind the CHECKOUT service binding, bundled by the global setup.
              workers: [
                {
                  name: "checkout",
                  modules: true,
                  scriptPath: CHECKOUT_BUNDLE,
                  compatibilityDate: "2026-10-01",
                  compatibilityFlags: ["nodejs_compat"],
                  bindings: { ...CHECKOUT_VARS, ...workerBindings(inject("stack")) },
                },
              ],
            },
          })),
        ],
        test: {
          name: "storefront",
          sequence: { groupOrder: 0 },
          include: [
            "workers/storefront/**/*.test.ts",
            "workers/platform/**/*.test.ts",
            "workers/edge/**/*.test.ts",
          ],
        },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./workers/checkout/wrangler.toml" },
            miniflare: { bindings: workerBindings(inject("stack")) },
          })),
        ],
        test: { name: "checkout", include: ["workers/checkout/**/*.test.ts"], sequence: { groupOrder: 0 } },
      },
    ],
  },
});
