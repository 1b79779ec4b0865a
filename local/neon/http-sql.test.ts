import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NeonProxy, startNeonProxy } from "./server.ts";
import { CLIENT_URL, POSTGRES_URL } from "./test-support.ts";

/** The `/sql` wire format itself, below the client: what Neon's proxy sends, byte for byte where it matters. */
let proxy: NeonProxy;

beforeAll(async () => {
  proxy = await startNeonProxy({ postgresUrl: POSTGRES_URL });
});

afterAll(async () => {
  await proxy.close();
});

describe("the wire format itself", () => {
  const post = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${proxy.url}/sql`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "Neon-Connection-String": CLIENT_URL, "Neon-Raw-Text-Output": "true", ...headers },
    });

  it("answers with Postgres' text output and Neon's field metadata", async () => {
    const response = await post(
      {
        query: "select $1::int8 as n, true as b, '2024-01-02 03:04:05+00'::timestamptz as t, null::int as z",
        params: ["5"],
      },
      { "Neon-Array-Mode": "true" },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.rows).toEqual([["5", "t", expect.stringMatching(/^2024-01-02 /), null]]);
    expect(body).toMatchObject({ command: "SELECT", rowCount: 1, rowAsArray: true });
    expect((body.fields as unknown[])[0]).toEqual({
      name: "n",
      dataTypeID: 20,
      tableID: 0,
      columnID: 0,
      dataTypeSize: 8,
      dataTypeModifier: -1,
      format: "text",
    });

    const objects = await post({ query: "select 1 as one", params: [] });
    expect(((await objects.json()) as { rows: unknown }).rows).toEqual([{ one: "1" }]);
  });

  it("rejects malformed requests with a 400 JSON body", async () => {
    const noHeader = await fetch(`${proxy.url}/sql`, {
      method: "POST",
      body: JSON.stringify({ query: "select 1" }),
    });
    expect(noHeader.status).toBe(400);
    expect(await noHeader.json()).toMatchObject({
      message: expect.stringContaining("Neon-Connection-String"),
    });

    const badLevel = await post({ queries: [] }, { "Neon-Batch-Isolation-Level": "Chaotic" });
    expect(badLevel.status).toBe(400);
    expect(await badLevel.json()).toMatchObject({ message: "invalid isolation level" });
  });

  it("lets a body's arrayMode override the header and echoes transaction headers", async () => {
    const response = await post(
      {
        queries: [
          { query: "select 1 as a", params: [], arrayMode: true },
          { query: "select 2 as b", params: [] },
        ],
      },
      { "Neon-Batch-Isolation-Level": "RepeatableRead", "Neon-Batch-Read-Only": "true" },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("Neon-Batch-Isolation-Level")).toBe("RepeatableRead");
    expect(response.headers.get("Neon-Batch-Read-Only")).toBe("true");
    const body = (await response.json()) as { results: { rows: unknown[]; rowAsArray: boolean }[] };
    expect(body.results.map((r) => [r.rows, r.rowAsArray])).toEqual([
      [[["1"]], true],
      [[{ b: "2" }], false],
    ]);
  });

  it("never hands a connection left inside a transaction to the next request", async () => {
    expect((await post({ query: "BEGIN", params: [] })).status).toBe(200);
    const next = await post({ query: "SAVEPOINT s1", params: [] });
    expect(next.status).toBe(400);
    expect(await next.json()).toMatchObject({ code: "25P01" });
  });

  it("refuses typed JSON output, which it does not emulate", async () => {
    const response = await post({ query: "select 1", params: [] }, { "Neon-Raw-Text-Output": "false" });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ message: expect.stringContaining("Neon-Raw-Text-Output") });
  });
});
