/**
 * The fake registry's releases: the defaults the harness seeds and how a
 * test's `releases` option turns into registry entries with stable image IDs.
 */
import { compareAppVersions, parseAppVersion } from "../../lib/core/app_version.ts";
import { type Behaviour, BEHAVIOURS, type Component, type Release } from "./state.ts";

/** A release as a test describes it: a behaviour, or a behaviour with details. */
export type ReleaseSpec = Behaviour | {
  /** What its container does. */
  behaviour: Behaviour;
  /** slow-start: listen after this many ms (default 1500). */
  startDelayMs?: number;
  /** wrong-version: the version its health reports (default 0.2.0). */
  reportVersion?: string;
  /** Serves, then dies this many ms after it started listening (passes a first health check). */
  crashAfterMs?: number;
};

/** Releases per component: version (no `v`) → spec. */
export type ReleaseTable = Partial<Record<Component, Record<string, ReleaseSpec>>>;

/** The default backend releases. */
export const DEFAULT_BACKEND_RELEASES: Readonly<Record<string, ReleaseSpec>> = {
  "0.2.0": "healthy",
  "0.3.0": "healthy",
  "0.3.1": "unhealthy",
  "0.3.2": "crash",
  "0.3.3": { behaviour: "wrong-version", reportVersion: "0.2.0" },
  "0.3.4": { behaviour: "slow-start", startDelayMs: 1500 },
  "0.3.5": "degraded",
  "0.3.6": "hang",
  "0.4.0": "needs-jwt",
};

/** The default frontend releases (the frontend only has to answer 200). */
export const DEFAULT_FRONTEND_RELEASES: Readonly<Record<string, ReleaseSpec>> = Object.fromEntries(
  Object.keys(DEFAULT_BACKEND_RELEASES).map((v) => [v, "healthy" as ReleaseSpec]),
);

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Registry entries (`image:vX.Y.Z` → release, plus `image:latest` → the newest
 * healthy release unless `latest` names one) for one component.
 */
export async function registryEntries(options: {
  component: Component;
  image: string;
  releases: Record<string, ReleaseSpec>;
  latest?: string;
}): Promise<Record<string, Release>> {
  const out: Record<string, Release> = {};
  const versions = Object.keys(options.releases).map((v) => {
    const parsed = parseAppVersion(v);
    if (!parsed || v.startsWith("v")) throw new TypeError(`harness: bad release version "${v}"`);
    return parsed;
  }).sort(compareAppVersions);
  const base = Date.parse("2026-01-01T00:00:00Z");
  for (const [i, version] of versions.entries()) {
    const raw = options.releases[version];
    const spec = typeof raw === "string" ? { behaviour: raw } : raw;
    if (!BEHAVIOURS.includes(spec.behaviour)) {
      throw new TypeError(`harness: unknown behaviour "${spec.behaviour}" for ${version}`);
    }
    const release: Release = {
      id: await sha256Hex(`${options.component}:${version}:${JSON.stringify(spec)}`),
      component: options.component,
      version,
      behaviour: spec.behaviour,
      created: new Date(base + i * 86_400_000).toISOString(),
    };
    if (spec.behaviour === "slow-start") release.startDelayMs = spec.startDelayMs ?? 1500;
    if (spec.behaviour === "wrong-version") release.reportVersion = spec.reportVersion ?? "0.2.0";
    if (spec.crashAfterMs !== undefined) release.crashAfterMs = spec.crashAfterMs;
    out[`${options.image}:v${version}`] = release;
  }
  const latest = options.latest ??
    versions.filter((v) => {
      const raw = options.releases[v];
      return (typeof raw === "string" ? raw : raw.behaviour) === "healthy";
    }).at(-1);
  if (latest) {
    const r = out[`${options.image}:v${latest}`];
    if (!r) throw new TypeError(`harness: latest ${latest} is not a release`);
    out[`${options.image}:latest`] = r;
  }
  return out;
}
