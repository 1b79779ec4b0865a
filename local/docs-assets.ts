import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The storefront's static assets (`[assets]` in wrangler.toml): the reading page of `/docs` loads
 * Swagger UI from here, copied from the exactly pinned `swagger-ui-dist` package, never from a CDN.
 */
export const STOREFRONT_ASSETS_DIR = fileURLToPath(new URL("../dist/storefront-assets", import.meta.url));

/** Where the page finds them; `workers/storefront/src/docs.ts` links these paths. */
const SWAGGER_UI_FILES = ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-bundle.js.LICENSE.txt"];

/** Copies Swagger UI into the assets directory (`wrangler dev`/`deploy` run it as the `[build]` command). */
export const buildStorefrontAssets = (): void => {
  const source = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const target = join(STOREFRONT_ASSETS_DIR, "docs", "swagger-ui");
  mkdirSync(target, { recursive: true });
  for (const file of SWAGGER_UI_FILES) copyFileSync(join(source, file), join(target, file));
};

if (process.argv[1] === fileURLToPath(import.meta.url)) buildStorefrontAssets();
