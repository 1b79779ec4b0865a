import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The README is a map; the reference material lives in docs/. */
const README_MAX_LINES = 250;

/** The Markdown files whose links are checked: the README and every file in docs/. */
const checkedFiles = (): string[] => [
  join(ROOT, "README.md"),
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => join(ROOT, "docs", name)),
];

/** A fenced code block, its fences indented or not (as inside a list item). */
const FENCED_BLOCK = /^ *(```|~~~)[^\n]*\n[\s\S]*?^ *\1[^\n]*$/gm;

/** Fenced code blocks and inline code spans hold no links, only text that may look like one. */
const withoutCode = (markdown: string): string =>
  markdown.replace(FENCED_BLOCK, "").replace(/`[^`\n]*`/g, "");

/** The anchor GitHub gives a heading's text (github-slugger), before duplicates are numbered. */
const slug = (heading: string): string =>
  heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[`*]/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");

/** Every anchor a Markdown text offers: its headings' slugs (repeats get -1, -2, ...) and explicit ids. */
const anchorsOf = (markdown: string): Set<string> => {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(FENCED_BLOCK, "");
  for (const [, heading = ""] of text.matchAll(/^#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$/gm)) {
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const [, id = ""] of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id);
  return anchors;
};

/** Inline links and images `[text](target "title")` and reference definitions `[label]: target`. */
const linkTargets = (markdown: string): string[] => {
  const text = withoutCode(markdown);
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? "");
  const references = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1] ?? "");
  return [...inline, ...references];
};

/** Why a relative link from `fromFile` does not resolve, or null when it does (or is not relative). */
const brokenReason = (fromFile: string, target: string): string | null => {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) return null;
  const [rawPath = "", anchor] = target.split("#", 2);
  const path = rawPath === "" ? fromFile : resolve(dirname(fromFile), decodeURIComponent(rawPath));
  if (!existsSync(path)) return `no such file: ${relative(ROOT, path)}`;
  if (anchor === undefined || anchor === "") return null;
  if (statSync(path).isDirectory() || !path.endsWith(".md"))
    return "an anchor on a file that is not Markdown";
  const anchors = anchorsOf(readFileSync(path, "utf8"));
  return anchors.has(decodeURIComponent(anchor))
    ? null
    : `no heading gives #${anchor} in ${relative(ROOT, path)}`;
};

describe("GitHub anchors", () => {
  it("are slugged as GitHub does", () => {
    expect(slug("On call: what to watch on Black Friday")).toBe("on-call-what-to-watch-on-black-friday");
    expect(slug("Admin (storefront; `Authorization: Bearer $ADMIN_TOKEN`)")).toBe(
      "admin-storefront-authorization-bearer-admin_token",
    );
    expect(slug("Redis: state and cache apart")).toBe("redis-state-and-cache-apart");
    expect([...anchorsOf("# A\n```\n# not a heading\n```\n## A\n")]).toEqual(["a", "a-1"]);
  });

  it("report a missing file and a missing heading, and accept what exists", () => {
    const readme = join(ROOT, "README.md");
    expect(brokenReason(readme, "docs/no-such-file.md")).toMatch(/no such file/);
    expect(brokenReason(readme, "docs/API.md#no-such-heading")).toMatch(/no heading gives/);
    expect(brokenReason(readme, "#no-such-heading")).toMatch(/no heading gives/);
    expect(brokenReason(readme, "docs/API.md#errors")).toBeNull();
    expect(brokenReason(readme, "https://example.com/missing")).toBeNull();
    expect(linkTargets("[a](x.md) `[b](y.md)`\n```\n[c](z.md)\n```\n[d]: w.md\n")).toEqual(["x.md", "w.md"]);
  });
});

describe("the README and docs/", () => {
  it(`keep the README a map of at most ${README_MAX_LINES} lines`, () => {
    const text = readFileSync(join(ROOT, "README.md"), "utf8");
    const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  for (const file of checkedFiles()) {
    it(`${relative(ROOT, file)}: every relative link reaches an existing file and heading`, () => {
      const broken = linkTargets(readFileSync(file, "utf8")).flatMap((target) => {
        const reason = brokenReason(file, target);
        return reason === null ? [] : [`${target}: ${reason}`];
      });
      expect(broken).toEqual([]);
    });
  }
});
