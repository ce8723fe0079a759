/**
 * What `disko guard SYSTEM ACTION` does around the decision (lib/disko/guard.ts):
 * reads the incoming system's layout (`SYSTEM/etc/grapheon/disko.json`, written
 * by nix/disko_guard.nix) and the current system's, reads the machine once
 * (lsblk/findmnt), diffs both layouts against it, reads the override, and uses
 * the override file up after the one switch it allowed. A file override must be
 * a regular file owned by the user the guard runs as (root), never a symlink.
 */
import { join } from "node:path";
import { errorMessage } from "../core/errors.ts";
import { lstatOrNull, readFileSafe } from "../host/files.ts";
import type { Logger } from "../cli/log.ts";
import type { Change } from "./changes.ts";
import { diffLive } from "./diff_live.ts";
import {
  changeKey,
  decideGuard,
  type GuardDecision,
  type GuardInput,
  type Override,
  OVERRIDE_ENV,
} from "./guard.ts";
import { matchLive } from "./live_compare.ts";
import type { LiveSnapshot } from "./live_snapshot.ts";
import { type LiveSourceOptions, readLiveSource, realDeviceResolver } from "./live_source.ts";
import { loadLayout, type LoadOptions } from "./load.ts";

/** Where a system keeps its layout (nix/disko_guard.nix: environment.etc."grapheon/disko.json"). */
export const SYSTEM_LAYOUT = "etc/grapheon/disko.json";

/** What the guard is asked to do and how it reaches the machine. */
export interface GuardRunInput {
  /** The incoming system (switch-to-configuration's `$1`). */
  system: string;
  /** The action (`$2`). */
  action: string;
  /** The current system, for known drift (default /run/current-system). */
  current: string;
  /** The override file. */
  overrideFile: string;
  /** How to read layouts. */
  load: LoadOptions;
  /** How to read the machine. */
  live: LiveSourceOptions;
  /** The environment (for the override variable). */
  env: (name: string) => string | undefined;
  /** The log. */
  log: Logger;
}

/** What the guard found and decided. */
export interface GuardRunResult {
  /** False when the incoming system has no layout (the guard is off there). */
  present: boolean;
  /** The decision's input. */
  input: GuardInput;
  /** The decision. */
  decision: GuardDecision;
  /** A file override that was not honoured, and why. */
  ignoredOverride?: string;
}

const MAX_REASON = 200;

/** The operator's reason, made safe to print on one line: control characters become spaces. */
function sanitize(text: string): string | null {
  const printable = [...text].map((ch) => {
    const code = ch.codePointAt(0)!;
    return code < 0x20 || (code >= 0x7f && code < 0xa0) ? " " : ch;
  }).join("");
  const one = printable.replace(/\s+/g, " ").trim();
  return one ? one.slice(0, MAX_REASON) : null;
}

/** Reads the override: the environment variable, or the file (regular, ours, no symlink). */
export async function readOverride(
  file: string,
  env: (name: string) => string | undefined,
): Promise<{ override: Override | null; ignored?: string }> {
  if (env(OVERRIDE_ENV) === "1") return { override: { source: OVERRIDE_ENV, reason: null } };
  const info = await lstatOrNull(file);
  if (!info) return { override: null };
  if (!info.isFile) return { override: null, ignored: `${file} is not a regular file` };
  if (info.uid !== null && info.uid !== Deno.uid()) {
    return { override: null, ignored: `${file} is owned by uid ${info.uid}, not ${Deno.uid()}` };
  }
  try {
    const text = await readFileSafe(file, { maxBytes: 4096 });
    if (text === null) return { override: null };
    return { override: { source: file, reason: sanitize(text) } };
  } catch (err) {
    return { override: null, ignored: errorMessage(err) };
  }
}

async function liveChanges(
  file: string,
  ctx: { input: GuardRunInput; snap: LiveSnapshot },
): Promise<Change[]> {
  const layout = await loadLayout({ kind: "file", path: file }, ctx.input.load);
  const resolve = ctx.input.live["lsblk-json"] ? () => null : realDeviceResolver;
  const match = matchLive({ model: layout.model, snap: ctx.snap, resolve });
  return diffLive({ model: layout.model, snap: ctx.snap, match });
}

/** Runs the guard: reads, decides, uses a file override up; the caller prints. */
export async function runGuard(input: GuardRunInput): Promise<GuardRunResult> {
  const incoming = join(input.system, SYSTEM_LAYOUT);
  const { override, ignored } = await readOverride(input.overrideFile, input.env);
  const base = { action: input.action, known: new Set<string>(), override };
  if (!(await lstatOrNull(incoming))) {
    const guardInput = { ...base, changes: [] };
    return { present: false, input: guardInput, decision: decideGuard(guardInput) };
  }
  let changes: Change[] | null = null;
  let error: string | undefined;
  const known = new Set<string>();
  try {
    const snap = await readLiveSource(input.live);
    changes = await liveChanges(incoming, { input, snap });
    const current = join(input.current, SYSTEM_LAYOUT);
    if (await lstatOrNull(current)) {
      try {
        for (const c of await liveChanges(current, { input, snap })) known.add(changeKey(c));
      } catch (err) {
        input.log.warn(`disko guard: the current system's layout is unreadable, no known drift`, {
          file: current,
          error: errorMessage(err),
        });
      }
    }
  } catch (err) {
    error = errorMessage(err);
  }
  const guardInput: GuardInput = { ...base, changes, error, known };
  const decision = decideGuard(guardInput);
  if (decision.verdict === "override") {
    input.log.warn(`disko guard overridden: switching to ${input.system} despite disk changes`, {
      action: input.action,
      override: override!.source,
      reason: override!.reason ?? undefined,
      changes: decision.blocking.length,
      error,
    });
    if (decision.consumeOverride) {
      await Deno.remove(input.overrideFile).then(
        () =>
          input.log.info(`disko guard: override used up and removed`, { file: input.overrideFile }),
        (err) =>
          input.log.warn(`disko guard: cannot remove the override file`, {
            file: input.overrideFile,
            error: errorMessage(err),
          }),
      );
    }
  }
  return { present: true, input: guardInput, decision, ignoredOverride: ignored };
}
