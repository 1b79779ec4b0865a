import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "./index.ts";

interface Readiness {
  ok: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
  error?: { code: string; message: string };
}

describe("health endpoints", () => {
  it("answers /healthz with a request id", async () => {
    const res = await app.request("/healthz", {}, env);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("reports Redis, Kafka and Postgres up through their edge clients", async () => {
    const res = await app.request("/readyz", {}, env);
    const body = (await res.json()) as Readiness;
    expect(body.checks).toMatchObject({ redis: { ok: true }, kafka: { ok: true }, postgres: { ok: true } });
    expect(res.status).toBe(200);
  });

  it("answers 503 naming what is down", async () => {
    const broken = { ...env, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9", KAFKA_REST_PASSWORD: "wrong" };
    const res = await app.request("/readyz", {}, broken);
    expect(res.status).toBe(503);
    expect(res.headers.get("Retry-After")).toBe("5");
    const body = (await res.json()) as Readiness;
    expect(body.error?.code).toBe("dependency_unavailable");
    expect(body.error?.message).toBe("unavailable: redis, kafka");
    expect(body.checks.postgres?.ok).toBe(true);
  });

  it("keeps a caller's request id", async () => {
    const res = await app.request("/healthz", { headers: { "X-Request-Id": "abc-123" } }, env);
    expect(res.headers.get("X-Request-Id")).toBe("abc-123");
  });

  it("answers unknown routes with the contract's error body", async () => {
    const res = await app.request("/v1/nothing-here", {}, env);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: "not_found", message: "no route for GET /v1/nothing-here" },
    });
  });
});
