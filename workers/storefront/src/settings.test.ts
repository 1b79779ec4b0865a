import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "./index.ts";

interface ErrorAnswer {
  error: { code: string; message: string; details?: { settings: { setting: string; problem: string }[] } };
}

const answer = async (res: Response) => ({ status: res.status, body: (await res.json()) as ErrorAnswer });
const settingsOf = (body: ErrorAnswer) => body.error.details?.settings.map((s) => s.setting);

/**
 * A worker deployed with a setting missing or malformed answers 500 `config_error` naming it, on
 * every route but /healthz: never a 503 that sends on-call after a dependency that is fine, never a
 * silent fallback. The problem is logged once per isolate, not once per request.
 */
describe("worker settings", () => {
  afterEach(() => vi.restoreAllMocks());

  it("names a missing Redis token instead of answering that Redis could not be reached", async () => {
    const { UPSTASH_REDIS_REST_TOKEN: _, ...withoutToken } = env;
    const { status, body } = await answer(await app.request("/v1/products/p_any", {}, withoutToken));
    expect(status).toBe(500);
    expect(body.error.code).toBe("config_error");
    expect(settingsOf(body)).toEqual(["UPSTASH_REDIS_REST_TOKEN"]);
    expect(body.error.message).toContain("UPSTASH_REDIS_REST_TOKEN is missing");
  });

  it("names malformed values: a URL that is none, a timeout that is not a number, a secret left out", async () => {
    const broken = {
      ...env,
      KAFKA_REST_URL: "kafka-rest.internal",
      REDIS_TIMEOUT_MS: "abc",
      MEDIA_SIGNING_SECRET: undefined,
    };
    const { status, body } = await answer(await app.request("/v1/carts", { method: "POST" }, broken));
    expect(status).toBe(500);
    expect(body.error.code).toBe("config_error");
    expect(settingsOf(body)?.sort()).toEqual(["KAFKA_REST_URL", "MEDIA_SIGNING_SECRET", "REDIS_TIMEOUT_MS"]);
  });

  it("logs the problem once per isolate, and still answers /healthz", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const broken = { ...env, CART_RATE_LIMIT: "lots" };
    for (let i = 0; i < 3; i++)
      expect((await app.request("/v1/carts", { method: "POST" }, broken)).status).toBe(500);
    const logged = errors.mock.calls
      .map(([line]) => String(line))
      .filter((line) => line.includes('"config_error"'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("CART_RATE_LIMIT");
    expect((await app.request("/healthz", {}, broken)).status).toBe(200);
  });

  it("serves as before with every setting right", async () => {
    const res = await app.request("/v1/carts", { method: "POST" }, env, createExecutionContext());
    expect(res.status).toBe(201);
  });
});
