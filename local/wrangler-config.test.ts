import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { REPO_ROOT } from "./stack.ts";

const run = promisify(execFile);

/** The deploy configuration as `wrangler deploy` reads it. */
describe("the production configuration", () => {
  it("gives the checkout worker no public URL: the storefront's service binding is its only way in", async () => {
    const checkout = unstable_readConfig({ config: `${REPO_ROOT}workers/checkout/wrangler.toml` });
    expect(checkout.workers_dev).toBe(false);
    expect(checkout.preview_urls).toBe(false);
    expect(checkout.routes ?? []).toEqual([]);
    expect(checkout.route).toBeUndefined();
    const storefront = unstable_readConfig({ config: `${REPO_ROOT}wrangler.toml` });
    expect(storefront.services).toContainEqual(
      expect.objectContaining({ binding: "CHECKOUT", service: "checkout" }),
    );
    // And wrangler deploys it as it is (a dry run builds the bundle and checks the configuration).
    const { stdout } = await run(
      "npx",
      ["wrangler", "deploy", "--dry-run", "--outdir", `${REPO_ROOT}.local/dry-run/checkout`],
      {
        cwd: `${REPO_ROOT}workers/checkout`,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      },
    );
    expect(stdout).toContain("--dry-run: exiting now.");
  }, 120_000);
});
