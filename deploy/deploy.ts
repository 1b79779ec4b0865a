import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  pairProblems,
  productionProblems,
  readWorkerConfig,
  WORKER_CONFIGS,
  type WorkerName,
} from "./workers.ts";

/**
 * `npm run deploy [-- --env production] [--dry-run]`: checks both workers' configs for the
 * environment (no local value, a custom domain, no public checkout URL, every required secret set),
 * runs the migrations against DATABASE_URL (the owner's direct, unpooled Neon URL), then deploys the
 * checkout worker and the storefront, in that order (the storefront binds to checkout). `--dry-run`
 * checks and bundles both without an account, a database or a deploy. The environment defaults to
 * `production`; the top level of the configs is for local runs and is never deployed from here.
 */
const { values } = parseArgs({
  options: { env: { type: "string", default: "production" }, "dry-run": { type: "boolean", default: false } },
});
const env = values.env ?? "production";
const dryRun = values["dry-run"] ?? false;
const ORDER: WorkerName[] = ["checkout", "storefront"];

const fail = (lines: string[]): never => {
  for (const line of lines) process.stderr.write(`deploy: ${line}\n`);
  process.exit(1);
};

const run = (
  what: string,
  command: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): string => {
  process.stdout.write(`deploy: ${what}\n`);
  const result = spawnSync(command, args, {
    stdio: ["inherit", "pipe", "inherit"],
    encoding: "utf8",
    env: { ...process.env, ...extraEnv },
  });
  process.stdout.write(result.stdout ?? "");
  if (result.status !== 0) fail([`${what} failed (exit ${result.status ?? result.signal})`]);
  return result.stdout ?? "";
};

const configs = Object.fromEntries(ORDER.map((w) => [w, readWorkerConfig(w, env)])) as Record<
  WorkerName,
  ReturnType<typeof readWorkerConfig>
>;
const problems = [
  ...ORDER.flatMap((w) => productionProblems(w, configs[w], { placeholder: !dryRun })),
  ...pairProblems(configs.storefront, configs.checkout),
];
if (problems.length > 0) fail([`the ${env} configuration is not fit to deploy:`, ...problems]);

if (!dryRun) {
  // Every secret each worker requires must be set before its code goes out: a missing one would
  // answer 500 config_error on every request.
  for (const worker of ORDER) {
    const listed = run(`secrets of ${worker}`, "wrangler", [
      "secret",
      "list",
      "--format",
      "json",
      "-c",
      WORKER_CONFIGS[worker],
      "--env",
      env,
    ]);
    const set = new Set((JSON.parse(listed) as { name: string }[]).map((s) => s.name));
    const missing = (configs[worker].secrets?.required ?? []).filter((name) => !set.has(name));
    if (missing.length > 0)
      fail([
        `${worker} (${env}) lacks secrets: ${missing.join(", ")} (wrangler secret put NAME --env ${env})`,
      ]);
  }
  const database = process.env.DATABASE_URL ?? "";
  if (!/^postgres(ql)?:\/\//.test(database) || /localhost|127\.0\.0\.1/.test(database))
    fail(["DATABASE_URL must be the production database's owner URL (Neon: the direct, unpooled one)"]);
  run("migrations", "tsx", ["db/migrate.ts"], { DATABASE_URL: database });
}

for (const worker of ORDER) {
  const args = ["deploy", "-c", WORKER_CONFIGS[worker], "--env", env];
  if (dryRun) args.push("--dry-run", "--outdir", resolve(`.local/deploy-dry-run/${env}/${worker}`));
  run(`${dryRun ? "bundle (dry run)" : "deploy"} ${worker} (${env})`, "wrangler", args);
}
process.stdout.write(`deploy: ${dryRun ? "dry run passed" : "deployed"} (${env})\n`);
