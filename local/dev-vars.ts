import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";

/** Reads `.dev.vars`, creating it from the committed `.dev.vars.example` on first run. */
export const loadDevVars = (
  root: string,
): { path: string; vars: Record<string, string>; created: boolean } => {
  const path = `${root}.dev.vars`;
  let created = false;
  if (!existsSync(path)) {
    copyFileSync(`${root}.dev.vars.example`, path);
    created = true;
  }
  const parsed = parseEnv(readFileSync(path, "utf8"));
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) if (value !== undefined) vars[key] = value;
  return { path, vars, created };
};

export const portOf = (url: string): number => {
  const parsed = new URL(url);
  return Number(parsed.port || (parsed.protocol === "https:" ? 443 : 80));
};
