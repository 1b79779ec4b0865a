import { env } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { app } from "./index.ts";

interface Readiness {
  ok: boolean;
  checks: Record<string, { ok: boolean; ms: number; reason?: string; error?: string }>;
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
    expect(body.checks.redis).toEqual({ ok: false, ms: expect.any(Number), reason: "error" });
    expect(body.checks.kafka).toEqual({
      ok: false,
      ms: expect.any(Number),
      reason: expect.stringMatching(/^(error|timeout)$/),
    });
  });

  it("names a dependency that does not answer in time, and echoes no dependency error", async () => {
    const stack = inject("stack");
    await fetch(`${stack.drillControlUrl}/redis/pause`, { method: "POST" });
    try {
      const hung = {
        ...env,
        UPSTASH_REDIS_REST_URL: stack.drillRedisRestUrl,
        UPSTASH_REDIS_REST_TOKEN: stack.drillRedisRestToken,
        REDIS_TIMEOUT_MS: "300",
        DATABASE_URL: "postgres://nobody:secret-password@127.0.0.1:9/none",
      };
      const res = await app.request("/readyz", {}, hung);
      expect(res.status).toBe(503);
      const text = await res.text();
      const body = JSON.parse(text) as Readiness;
      expect(body.error?.message).toBe("unavailable: redis, postgres");
      expect(body.checks.redis).toMatchObject({ ok: false, reason: "timeout" });
      expect(body.checks.postgres).toMatchObject({ ok: false });
      for (const leak of ["secret-password", "nobody", "127.0.0.1", "abort", "ECONNREFUSED", "Error"]) {
        expect(text).not.toContain(leak);
      }
    } finally {
      await fetch(`${stack.drillControlUrl}/redis/resume`, { method: "POST" });
    }
  });

  it("checks the dependencies at most every few seconds per isolate, however often it is probed", async () => {
    const probed = { ...env };
    const first = await app.request("/readyz", {}, probed);
    expect(first.status).toBe(200);
    // Redis gone right after: the next probes within the window answer what the last check found.
    probed.UPSTASH_REDIS_REST_URL = "http://127.0.0.1:9";
    const again = await Promise.all([1, 2, 3].map(() => app.request("/readyz", {}, probed)));
    expect(again.map((res) => res.status)).toEqual([200, 200, 200]);
    const bodies = await Promise.all([first, ...again].map(async (res) => (await res.json()) as Readiness));
    for (const body of bodies.slice(1)) expect(body.checks).toEqual(bodies[0]?.checks);
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
