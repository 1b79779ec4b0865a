import { afterAll, describe, expect, inject, it } from "vitest";

const stack = inject("stack");

const control = async (action: string) => {
  const res = await fetch(`${stack.drillControlUrl}${action}`, { method: "POST" });
  expect(res.status).toBe(204);
};

/** One command through the drill Redis's REST endpoint, abandoned after `ms`. */
const ping = (ms: number) =>
  fetch(stack.drillRedisRestUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.drillRedisRestToken}` },
    body: JSON.stringify(["PING"]),
    signal: AbortSignal.timeout(ms),
  });

afterAll(() => control("/redis/resume"));

describe("fault drills", () => {
  it("pauses the drill Redis so its REST endpoint hangs, and resumes it", async () => {
    expect(await (await ping(2_000)).json()).toEqual({ result: "PONG" });
    await control("/redis/pause");
    await control("/redis/pause"); // idempotent
    try {
      await expect(ping(500)).rejects.toThrow();
      const late = ping(10_000); // sent while paused: answered once the server runs again
      await control("/redis/resume");
      expect(await (await late).json()).toEqual({ result: "PONG" });
    } finally {
      await control("/redis/resume");
    }
    expect(await (await ping(2_000)).json()).toEqual({ result: "PONG" });
  });

  it("answers 404 to unknown actions", async () => {
    const res = await fetch(`${stack.drillControlUrl}/redis/explode`, { method: "POST" });
    expect(res.status).toBe(404);
  });
});
