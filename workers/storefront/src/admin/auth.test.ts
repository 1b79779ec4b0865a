import { describe, expect, it } from "vitest";
import { call, expectError, json } from "../test-support.ts";

describe("admin auth", () => {
  it("guards every documented admin operation, whichever domain declares it", async () => {
    const doc = await json<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>(
      await call("/openapi.json"),
    );
    const operations = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith("/v1/admin/"))
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
    expect(operations.map(({ path }) => path)).toEqual(
      expect.arrayContaining(["/v1/admin/products/{productId}", "/v1/admin/media/{key}"]),
    );
    for (const { path, method, op } of operations) {
      expect(op.security).toEqual([{ adminToken: [] }]);
      const url = path.replace("{productId}", "prod_0000001").replace("{key}", "x.png");
      for (const authorization of [undefined, "Bearer wrong-token"]) {
        const res = await call(url, {
          method: method.toUpperCase(),
          headers: authorization ? { authorization } : {},
        });
        expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="admin"');
        await expectError(res, 401, "unauthorized");
      }
    }
  });
});
