import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";

const readVars = (path: string): Record<string, string> => {
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(parseEnv(readFileSync(path, "utf8")))) {
    if (value !== undefined) vars[key] = value;
  }
  return vars;
};

/**
 * Reads `.dev.vars`, creating it from the committed `.dev.vars.example` on first run, and appending
 * the settings the example gained since (`added`), so an older copy keeps working.
 */
export const loadDevVars = (
  root: string,
): { path: string; vars: Record<string, string>; created: boolean; added: string[] } => {
  const path = `${root}.dev.vars`;
  const examplePath = `${root}.dev.vars.example`;
  let created = false;
  if (!existsSync(path)) {
    copyFileSync(examplePath, path);
    created = true;
  }
  const example = readVars(examplePath);
  const vars = readVars(path);
  const added = Object.keys(example).filter((key) => !(key in vars));
  if (added.length > 0) {
    const lines = added.map((key) => `${key}=${example[key]}`).join("\n");
    appendFileSync(path, `\n# Added from .dev.vars.example\n${lines}\n`);
    for (const key of added) vars[key] = example[key] ?? "";
  }
  return { path, vars, created, added };
};

export const portOf = (url: string): number => {
  const parsed = new URL(url);
  return Number(parsed.port || (parsed.protocol === "https:" ? 443 : 80));
};
