import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "./index.ts";

describe("checkout worker health", () => {
  it("answers /healthz", async () => {
    const res = await app.request("/healthz", {}, env);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("is ready when its dependencies answer", async () => {
    const res = await app.request("/readyz", {}, env);
    expect(res.status).toBe(200);
  });
});
