import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { postgresBinDir } from "./postgres-server.ts";

describe("postgresBinDir", () => {
  const path = process.env.PATH;
  const dirs: string[] = [];
  afterEach(() => {
    process.env.PATH = path;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("takes the server binaries from PATH first", () => {
    const dir = mkdtempSync(join(tmpdir(), "pg-bin-"));
    dirs.push(dir);
    for (const name of ["initdb", "postgres"]) writeFileSync(join(dir, name), "", { mode: 0o755 });
    process.env.PATH = `${dir}${delimiter}${path}`;
    expect(postgresBinDir()).toBe(dir);
  });

  it("finds them through pg_config or the Debian layout when PATH has none", () => {
    const dir = mkdtempSync(join(tmpdir(), "pg-bin-"));
    dirs.push(dir);
    writeFileSync(join(dir, "initdb"), "", { mode: 0o755 }); // no postgres beside it: not a server install
    process.env.PATH = `${dir}${delimiter}${path}`;
    const found = postgresBinDir();
    expect(found).not.toBe(dir);
    expect(existsSync(join(found, "postgres"))).toBe(true);
  });
});
