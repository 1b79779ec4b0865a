import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type ExampleServer, serveExample } from "../examples/browser/serve.ts";
import { freePort } from "../local/processes.ts";
import { startWorkers, type Workers } from "../local/workers.ts";
import { createApi } from "./support/api.ts";
import { type Browser, CHROMIUM_PATH, hasChromium, launchChromium } from "./support/chromium.ts";
import { takeE2eLock } from "./support/pipeline.ts";

// Without Chromium these tests are reported as skipped, with the reason in their name, never passed.
const title = hasChromium
  ? "a browser app in headless Chromium"
  : `a browser app in headless Chromium: SKIPPED, ${CHROMIUM_PATH} is absent (apt-get install -y chromium)`;
if (!hasChromium)
  console.warn(`browser tests skipped: ${CHROMIUM_PATH} is absent (apt-get install -y chromium)`);

/** The example's usual port when it is free (as with `npm run example:browser`), else any. */
const examplePort = async (): Promise<number> => {
  const probe = await serveExample(5173).catch(() => undefined);
  await probe?.close();
  return probe ? 5173 : freePort();
};

describe.skipIf(!hasChromium)(title, () => {
  const stack = inject("stack");
  let unlock: () => Promise<void>;
  let workers: Workers;
  let example: ExampleServer;
  let browser: Browser;

  beforeAll(async () => {
    unlock = await takeE2eLock(stack.databaseUrl);
    workers = await startWorkers(stack);
    example = await serveExample(await examplePort());
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await example?.close();
    await workers?.dispose();
    await unlock?.();
  });

  it("creates a cart, adds an item and checks out cross-origin from the example page", async () => {
    const api = createApi(workers.url, stack.adminToken);
    const productId = `browser_${Date.now().toString(36)}`;
    await api.createProduct(productId, 10, 1_999);

    const page = await browser.context.newPage();
    await page.goto(`${example.url}/?api=${encodeURIComponent(workers.url)}`);
    expect(new URL(page.url()).origin).not.toBe(workers.url);
    // The page suggests the catalog's first product once its read answers (into an empty field only):
    // wait for it, or it can land between fill's clearing and typing and the field holds both ids.
    await page.waitForFunction(() => (document.querySelector("#product") as HTMLInputElement | null)?.value);
    await page.fill("#product", productId);
    await page.click("#create-cart");
    // Each step waits for its answer or the page's error, so a failure says what the API answered.
    await page.waitForFunction(
      () =>
        document.querySelector("#cart")?.textContent?.startsWith("cart ") ||
        document.querySelector("#error")?.textContent,
    );
    expect(await page.textContent("#error")).toBe("");
    await page.click("#add-item");
    await page.waitForFunction(
      () =>
        document.querySelector("#cart")?.textContent?.includes(": 1 item(s)") ||
        document.querySelector("#error")?.textContent,
    );
    expect(await page.textContent("#error")).toBe("");
    await page.click("#checkout");
    await page.waitForFunction(
      () => document.querySelector("#order")?.textContent || document.querySelector("#error")?.textContent,
    );
    expect(await page.textContent("#error")).toBe("");
    const shown = (await page.textContent("#order")) ?? "";
    expect(shown).toMatch(/^202 order \S+ pending: 1999 USD cents$/);

    const orderId = shown.split(" ")[2] ?? "";
    expect(await api.order(orderId)).toMatchObject({ orderId, items: [{ productId, qty: 1 }] });
    await page.close();
  });

  it("renders /docs from the worker's own assets, checkout and orders included", async () => {
    const page = await browser.context.newPage();
    const requested: string[] = [];
    page.on("request", (request) => requested.push(request.url()));
    await page.goto(`${workers.url}/docs`);
    const checkout = page.locator(".opblock-post", { hasText: "/v1/checkout" });
    await checkout.first().waitFor({ timeout: 30_000 });
    expect(await checkout.first().textContent()).toMatch(/POST\s*\/v1\/checkout/);
    expect(await page.locator(".opblock-get", { hasText: "/v1/orders/{orderId}" }).count()).toBe(1);
    expect(await page.locator(".opblock-post", { hasText: "/v1/carts/{cartId}/items" }).count()).toBe(1);
    // Offline and pinned: every request the page made went to the worker.
    expect(requested.filter((url) => !url.startsWith(`${workers.url}/`))).toEqual([]);
    await page.close();
  });
});
