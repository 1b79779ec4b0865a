import { describe, expect, it } from "vitest";
import { call } from "./test-support.ts";

describe("CORS on the API", () => {
  const origin = "http://127.0.0.1:5173";

  it("answers a preflight from an allowed origin with 204 and what it may send", async () => {
    const res = await call("/v1/checkout", {
      method: "OPTIONS",
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,idempotency-key",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(origin);
    expect(res.headers.get("Access-Control-Allow-Methods")).toContain("POST");
    const allowed = res.headers.get("Access-Control-Allow-Headers")?.toLowerCase() ?? "";
    for (const header of ["authorization", "content-type", "idempotency-key"])
      expect(allowed).toContain(header);
  });

  it("exposes the contract's headers to an allowed origin, and gives others no CORS headers", async () => {
    const res = await call("/v1/carts", { method: "POST", headers: { Origin: origin } });
    expect(res.status).toBe(201);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(origin);
    const exposed = res.headers.get("Access-Control-Expose-Headers") ?? "";
    for (const header of ["Location", "Idempotent-Replayed", "Retry-After", "ETag", "X-Cache"])
      expect(exposed).toContain(header);

    const other = await call("/v1/categories", { headers: { Origin: "https://evil.example" } });
    expect(other.status).toBe(200);
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("lets any origin read images", async () => {
    const res = await call("/media/not-there.png", { headers: { Origin: "https://evil.example" } });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
  });
});
