/**
 * Graphēon release versions. Every version string from outside (request file,
 * flags, health bodies) is validated here before it goes anywhere near an
 * image reference: `X.Y.Z` with an optional `-pre` suffix, an optional leading `v`.
 */
import { z } from "zod";

const VERSION_RE =
  /^v?(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})(?:-([0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*))?$/;

/** A validated version, without the `v`. */
export type AppVersion = string & { readonly __brand: "AppVersion" };

/** Returns the version without its `v`, or null if `text` is not `X.Y.Z[-pre]`. */
export function parseAppVersion(text: string): AppVersion | null {
  if (text.length > 64) return null;
  const m = VERSION_RE.exec(text.trim());
  return m ? (text.trim().replace(/^v/, "") as AppVersion) : null;
}

/** The image tag for a version (`v` + version), as releases publish them. */
export function imageTag(version: string): string {
  return `v${version}`;
}

/** `<image>:vX.Y.Z`: the one place a release's image reference is built. */
export function versionedRef(image: string, version: string): string {
  return `${image}:${imageTag(version)}`;
}

function parts(v: string): { nums: number[]; pre: string | undefined } {
  const m = VERSION_RE.exec(v)!;
  return { nums: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] };
}

function comparePre(a: string, b: string): number {
  const as = a.split("."), bs = b.split(".");
  for (let i = 0; i < Math.max(as.length, bs.length); i++) {
    if (as[i] === undefined) return -1;
    if (bs[i] === undefined) return 1;
    const an = /^\d+$/.test(as[i]), bn = /^\d+$/.test(bs[i]);
    if (an && bn) {
      const d = Number(as[i]) - Number(bs[i]);
      if (d) return Math.sign(d);
    } else if (an !== bn) return an ? -1 : 1;
    else if (as[i] !== bs[i]) return as[i] < bs[i] ? -1 : 1;
  }
  return 0;
}

/** Semver order: -1, 0 or 1. A pre-release sorts before its release. */
export function compareAppVersions(a: AppVersion, b: AppVersion): number {
  const pa = parts(a), pb = parts(b);
  for (let i = 0; i < 3; i++) {
    if (pa.nums[i] !== pb.nums[i]) return pa.nums[i] < pb.nums[i] ? -1 : 1;
  }
  if (pa.pre === pb.pre) return 0;
  if (pa.pre === undefined) return 1;
  if (pb.pre === undefined) return -1;
  return comparePre(pa.pre, pb.pre);
}

/** zod schema for a version field: validates and strips the `v`. */
export const appVersionSchema = z.string().transform((text, ctx) => {
  const v = parseAppVersion(text);
  if (!v) {
    ctx.addIssue({
      code: "custom",
      message: `expected a version X.Y.Z (optional -pre), got ${JSON.stringify(text.slice(0, 40))}`,
    });
    return z.NEVER;
  }
  return v;
});
