import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/**
 * The container recipe as data, for recipe.test.ts: compose.yaml's services, the example settings,
 * what the Dockerfile's final stage sets and copies, and what .dockerignore leaves out. Paths are
 * relative to the repository root.
 */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const readRepoFile = (path: string): string => readFileSync(join(ROOT, path), "utf8");

/** The part of a compose service the checks read. */
export interface Service {
  command?: string[];
  env_file?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
}

export const composeText = readRepoFile("deploy/compose.yaml");
/** Merge keys (`<<: *consumer`) resolved, as Compose resolves them. */
export const services: [string, Service][] = Object.entries(
  (parse(composeText, { merge: true }) as { services: Record<string, Service> }).services,
);

/** The file a service runs: every command is `["node", "<file>", ...args]`. */
export const entryOf = ([name, s]: [string, Service]): string => {
  const [node, file] = s.command ?? [];
  if (node !== "node" || !file) throw new Error(`${name}: command must be ["node", "<file>", ...]`);
  return file;
};

/** An env file's `KEY=value` lines (single quotes taken off), and every name it lists, commented or not. */
export const readEnvFile = (path: string): { active: Record<string, string>; names: string[] } => {
  const active: Record<string, string> = {};
  const commented: string[] = [];
  for (const line of readRepoFile(path).split("\n")) {
    const match = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (!match?.[2]) continue;
    if (match[1]) commented.push(match[2]);
    else active[match[2]] = (match[3] ?? "").replace(/^'(.*)'$/s, "$1");
  }
  return { active, names: [...Object.keys(active), ...commented] };
};

/** The Dockerfile with its continued lines joined. */
export const dockerfile = readRepoFile("deploy/Dockerfile").replace(/\\\n/g, " ");
const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));

/** The final stage's `ENV`. */
export const imageEnv: Record<string, string> = Object.fromEntries(
  [...(/^ENV (.+)$/m.exec(finalStage)?.[1] ?? "").matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]]),
);

/** The image's `HEALTHCHECK ... CMD [...]`, in compose's form (`["CMD", ...]`). */
export const imageHealthcheck: string[] = [
  "CMD",
  ...(JSON.parse(/^HEALTHCHECK .* CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? "[]") as string[]),
];

/** What the final stage copies from the build context (not from another stage). */
const copied = [...finalStage.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]?.split(" ") ?? []);

const globToRegExp = (glob: string): RegExp => {
  const parts = glob.split(/(\*\*\/|\*\*|\*|\?)/).map((part) => {
    if (part === "**/") return "(?:.*/)?";
    if (part === "**") return ".*";
    if (part === "*") return "[^/]*";
    if (part === "?") return "[^/]";
    return part.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  });
  return new RegExp(`^${parts.join("")}$`);
};

/** .dockerignore as Docker reads it: the last pattern matching a path or one of its parents wins. */
const ignoreRules = readRepoFile(".dockerignore")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith("#"))
  .map((line) => ({ include: line.startsWith("!"), re: globToRegExp(line.replace(/^!/, "")) }));

/** Whether the image holds this file: copied by the final stage and not left out of the context. */
export const inImage = (file: string): boolean => {
  const parents = file.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
  const ignored = ignoreRules.reduce(
    (out, r) => (parents.some((p) => r.re.test(p)) ? !r.include : out),
    false,
  );
  return !ignored && copied.some((source) => file === source || file.startsWith(`${source}/`));
};

const IMPORT_FROM = /^\s*(?:import|export)\s+(type\s)?[^'";]*?\bfrom\s+["']([^"']+)["']/gm;
const IMPORT_BARE = /^\s*import\s+["']([^"']+)["']/gm;
const IMPORT_DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

const packageOf = (specifier: string): string =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

/**
 * Every module an entry point loads at run time (missing ones included) and every package they
 * import. Node erases `import type` and `export type`; it keeps the rest, `import { type X }` too.
 */
export const runtimeGraph = (entry: string): { files: string[]; packages: string[] } => {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    if (!existsSync(join(ROOT, file))) return;
    const source = readRepoFile(file);
    const specifiers = [
      ...[...source.matchAll(IMPORT_FROM)].filter((m) => !m[1]).map((m) => m[2]),
      ...[...source.matchAll(IMPORT_BARE)].map((m) => m[1]),
      ...[...source.matchAll(IMPORT_DYNAMIC)].map((m) => m[1]),
    ];
    for (const specifier of specifiers) {
      if (!specifier || specifier.startsWith("node:")) continue;
      if (specifier.startsWith(".")) visit(relative(ROOT, join(ROOT, dirname(file), specifier)));
      else packages.add(packageOf(specifier));
    }
  };
  visit(entry);
  return { files: [...files], packages: [...packages] };
};
