/**
 * `grapheon-tool uninstall`: undoes `install` from its manifest: disables the
 * units it enabled, removes the files it wrote (a config or env file only if it
 * is still what install wrote), puts back files it had replaced, removes the
 * directories it created when empty. Never touches the data dir or the state
 * (backups, upgrade state) besides the manifest itself.
 */
import { join, resolve } from "node:path";
import { type CommandSpec, parseCommandArgs, printResult } from "../lib/cli/mod.ts";
import { EXIT } from "../lib/core/mod.ts";
import { assertRegularOrMissing, run } from "../lib/host/mod.ts";
import {
  deactivateUnits,
  loadTargetConfig,
  manifestPath,
  readManifest,
  reloadAfterRemoval,
  sha256Hex,
} from "../lib/install/mod.ts";

/** What happened to one manifest entry. */
interface Outcome {
  path: string;
  action: "removed" | "restored" | "kept" | "absent";
  why?: string;
}

/** The command's own options (main.ts parses them with the global ones). */
const OPTIONS = {
  root: { type: "string" },
  "dry-run": { type: "boolean" },
} as const;

/** The `uninstall` command. */
export const uninstallCommand: CommandSpec = {
  name: "uninstall",
  options: OPTIONS,
  help: `Usage: grapheon-tool uninstall [--root DIR] [--dry-run]

Reads <stateDir>/install-manifest.json and undoes 'grapheon-tool install':
disables (and stops) the units it enabled, removes the unit files and the
binary it wrote, removes the config and env file only when they are unchanged
since install (an edited one is kept and reported), restores files install
had replaced, and removes directories it created when they are empty. The data
dir and the tool's state (backups, upgrade state) are never touched.

Options:
  --root DIR   act on a staged root (no systemctl)
  --dry-run    show what would be removed, change nothing

Exit codes: 0 done (or nothing installed), 1 failed, 2 bad command line,
3 bad config, 4 bad manifest.`,
  async run(ctx) {
    const { values } = parseCommandArgs("uninstall", ctx.argv, OPTIONS);
    const staging = values.root !== undefined;
    const root = staging ? resolve(values.root!) : "/";
    const dryRun = values["dry-run"] ?? false;
    const { config } = await loadTargetConfig(root, ctx.global.configPath);
    const mPath = manifestPath(root, config.stateDir);
    const manifest = await readManifest(mPath);
    if (!manifest) {
      printResult(ctx, `nothing to uninstall: no manifest at ${mPath}`, {
        root,
        manifest: null,
        files: [],
      });
      return EXIT.OK;
    }
    const systemctl = config.commands.systemctl;
    const calls = staging || dryRun ? [] : await deactivateUnits(run, systemctl, manifest.enabled);
    const outcomes: Outcome[] = [];
    for (const f of manifest.files) {
      const full = join(root, f.path);
      const info = await assertRegularOrMissing(full);
      if (!info) {
        outcomes.push({ path: f.path, action: "absent" });
        continue;
      }
      const keepIfEdited = f.kind === "config" || f.kind === "envFile";
      if (keepIfEdited && (await sha256Hex(await Deno.readFile(full))) !== f.sha256) {
        outcomes.push({ path: f.path, action: "kept", why: "edited since install" });
        continue;
      }
      if (!dryRun) await Deno.remove(full);
      if (f.backup && (await assertRegularOrMissing(join(root, f.backup)))) {
        if (!dryRun) await Deno.rename(join(root, f.backup), full);
        outcomes.push({ path: f.path, action: "restored", why: `the file it replaced` });
      } else outcomes.push({ path: f.path, action: "removed" });
    }
    if (!dryRun) {
      await Deno.remove(mPath);
      await removeIfEmpty(join(root, config.stateDir, "install-backup"));
      for (const dir of [...manifest.dirs].reverse()) await removeIfEmpty(join(root, dir));
      if (!staging) calls.push(...await reloadAfterRemoval(run, systemctl));
    }
    if (!ctx.global.json) {
      for (const o of outcomes) {
        ctx.out(`${o.action.padEnd(9)} ${o.path}${o.why ? ` (${o.why})` : ""}`);
      }
    }
    const removed = outcomes.filter((o) => o.action === "removed" || o.action === "restored");
    printResult(
      ctx,
      `${dryRun ? "dry run: would uninstall" : "uninstalled"}: ${removed.length} file(s); ` +
        `data in ${config.dataDir} untouched`,
      { root, dryRun, systemctl: calls.map((c) => c.join(" ")), files: outcomes, manifest: mPath },
    );
    return EXIT.OK;
  },
};

async function removeIfEmpty(dir: string): Promise<void> {
  try {
    await Deno.remove(dir); // fails on a non-empty directory, which is what we want
  } catch { /* not empty or gone */ }
}
