import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { delimiter } from "node:path";
import pg from "pg";
import { type Managed, portOpen, spawnManaged, waitFor } from "./processes.ts";

export interface PostgresServer {
  /** Connection string for the `postgres` superuser's `postgres` database. */
  url: string;
  port: number;
  /** The postmaster's process id (its backends are its children). */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Directories of `PATH`, where `initdb` is found when the server binaries are installed there. */
const pathDirs = (): string[] => (process.env.PATH ?? "").split(delimiter).filter(Boolean);

/** `pg_config --bindir`, when pg_config is installed (Homebrew, PGDG packages, source builds). */
const pgConfigBinDir = (): string[] => {
  try {
    return [
      execFileSync("pg_config", ["--bindir"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim(),
    ];
  } catch {
    return [];
  }
};

/** Debian and Ubuntu keep the server binaries off PATH, under /usr/lib/postgresql/<version>/bin. */
const debianBinDirs = (): string[] => {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => `${root}/${v}/bin`);
};

/** Where `initdb` and `postgres` are: PATH first, then pg_config's bindir, then the Debian layout. */
export const postgresBinDir = (): string => {
  const candidates = [...pathDirs(), ...pgConfigBinDir(), ...debianBinDirs()];
  const found = candidates.find((dir) => existsSync(`${dir}/initdb`) && existsSync(`${dir}/postgres`));
  if (!found) {
    throw new Error(
      "no PostgreSQL server binaries (initdb, postgres) found on PATH, in `pg_config --bindir` or under " +
        "/usr/lib/postgresql/<version>/bin; install the PostgreSQL server package",
    );
  }
  return found;
};

/** PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user. */
const postgresUser = (): { uid: number; gid: number } | Record<string, never> => {
  if (process.getuid?.() !== 0) return {};
  const [uid, gid] = ["-u", "-g"].map((flag) =>
    Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim()),
  );
  return { uid: uid as number, gid: gid as number };
};

/**
 * Starts a private PostgreSQL cluster with trust auth on `port` (for machines without one, and for
 * fault drills that stop Postgres while the shared server stays up).
 */
export const startPostgresServer = async (opts: {
  port: number;
  dataDir: string;
  /** Extra server settings (`-c name=value`). */
  settings?: Record<string, string>;
}): Promise<PostgresServer> => {
  if (await portOpen(opts.port))
    throw new Error(`port ${opts.port} is taken; stop whatever listens there first`);
  const bin = postgresBinDir();
  if (!existsSync(`${opts.dataDir}/PG_VERSION`)) {
    mkdirSync(opts.dataDir, { recursive: true });
    if (process.getuid?.() === 0) execFileSync("chown", ["-R", "postgres:postgres", opts.dataDir]);
    execFileSync(
      `${bin}/initdb`,
      ["-D", opts.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
      {
        stdio: "ignore",
        ...postgresUser(),
      },
    );
  }
  const args = [
    "-D",
    opts.dataDir,
    "-p",
    String(opts.port),
    "-h",
    "127.0.0.1",
    "-k",
    "/tmp",
    "-c",
    "fsync=off",
    "-c",
    "max_connections=200",
    ...Object.entries(opts.settings ?? {}).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
  ];
  // SIGINT is PostgreSQL's fast shutdown: it disconnects clients instead of waiting for them.
  const server: Managed = spawnManaged(
    `${bin}/postgres`,
    args,
    { stdio: "ignore", ...postgresUser() },
    15_000,
    "SIGINT",
  );
  const url = `postgres://postgres@127.0.0.1:${opts.port}/postgres`;
  await waitFor(
    `postgres on ${opts.port}`,
    async () => {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        await client.query("select 1");
        return true;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    30_000,
  );
  return { url, port: opts.port, pid: server.child.pid, stop: () => server.stop() };
};
