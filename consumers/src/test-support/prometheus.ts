/** Reading what a `/metrics` endpoint answers (Prometheus text format), for tests. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of a Prometheus text exposition (comments skipped). */
export const parsePrometheus = (text: string): Sample[] =>
  text.split("\n").flatMap((line) => {
    const match = line.startsWith("#") ? null : SAMPLE.exec(line);
    if (!match?.[1] || match[3] === undefined) return [];
    const labels = Object.fromEntries([...(match[2] ?? "").matchAll(LABEL)].map((m) => [m[1], m[2]]));
    return [{ name: match[1], labels, value: Number(match[3]) }];
  });

/** GETs `url` (with `init`, e.g. credentials) and parses it; fails on a non-200 answer. */
export const scrape = async (url: string, init?: RequestInit): Promise<Sample[]> => {
  const response = await fetch(url, init);
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return parsePrometheus(await response.text());
};

/** Sum of the samples named `name` whose labels include `labels` (0 when there is none). */
export const sumOf = (samples: Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
