import { describe, expect, inject, it } from "vitest";

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

describe("fault drills", () => {
  it("pauses the drill Redis so its REST endpoint hangs, until every pause is resumed", async () => {
    expect(await (await ping(2_000)).json()).toEqual({ result: "PONG" });
    await control("/redis/pause");
    let held = true;
    try {
      await control("/redis/pause"); // a second holder (another test file, say)
      try {
        await expect(ping(500)).rejects.toThrow();
      } finally {
        await control("/redis/resume");
      }
      await expect(ping(500)).rejects.toThrow(); // the first pause still holds
      const late = ping(10_000); // sent while paused: answered once the server runs again
      await control("/redis/resume");
      held = false;
      expect(await (await late).json()).toEqual({ result: "PONG" });
    } finally {
      if (held) await control("/redis/resume"); // each pause gets exactly one resume
    }
    expect(await (await ping(2_000)).json()).toEqual({ result: "PONG" });
  });

  it("answers 404 to unknown actions", async () => {
    const res = await fetch(`${stack.drillControlUrl}/redis/explode`, { method: "POST" });
    expect(res.status).toBe(404);
  });
});
