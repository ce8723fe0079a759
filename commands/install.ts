/**
 * `grapheon-tool install`: puts the tool at `binPath`, renders the systemd units
 * from `units/`, writes a default config and an empty env file when there are
 * none, records everything in the install manifest, and enables the upgrade
 * path unit (and the container units with --with-containers). Idempotent: a
 * second run changes nothing and says so; a changed file is shown as a diff.
 */
import { dirname, join, resolve } from "node:path";
import {
  type CommandContext,
  type CommandSpec,
  parseCommandArgs,
  printResult,
} from "../lib/cli/mod.ts";
import { EXIT, TOOL_VERSION, ToolError } from "../lib/core/mod.ts";
import { exists, run } from "../lib/host/mod.ts";
import {
  activateUnits,
  backupPath,
  currentToolSource,
  type DesiredFile,
  emptyManifest,
  ensureDirs,
  loadTargetConfig,
  loadTemplates,
  type Manifest,
  manifestPath,
  planFile,
  type PlannedFile,
  readCurrent,
  readManifest,
  renderUnits,
  resolveProgram,
  saveForeign,
  writeManifest,
  writePlanned,
} from "../lib/install/mod.ts";

/** Where unit files go. */
export const UNIT_DIR = "/etc/systemd/system";

const ENV_FILE_TEXT = [
  "# Environment for the Graphēon containers (podman --env-file): KEY=value lines.",
  "# Secrets such as JWT_SECRET belong here; keep this file mode 0600.",
  "",
].join("\n");

const enc = new TextEncoder();

/** The command's own options (main.ts parses them with the global ones). */
const OPTIONS = {
  root: { type: "string" },
  "with-containers": { type: "boolean" },
  "dry-run": { type: "boolean" },
} as const;

/** The `install` command. */
export const installCommand: CommandSpec = {
  name: "install",
  options: OPTIONS,
  help: `Usage: grapheon-tool install [--with-containers] [--root DIR] [--dry-run]

Copies this program to binPath (a running source checkout gets a launcher
script instead), writes the systemd units rendered from units/ to
${UNIT_DIR}, a default config and an empty env file (mode 0600) when none
exist, and enables grapheon-upgrade.path (started now) and
grapheon-upgrade-recover.service (runs at boot). Everything written is recorded
in <stateDir>/install-manifest.json for 'grapheon-tool uninstall'. Running it
again changes nothing; changed files are shown as a line diff. Changed
container units are not restarted (that would interrupt the service).
Refuses on NixOS: use the NixOS module (services.grapheon) there.

Options:
  --with-containers  also install, enable and start grapheon-images.service and
                     the backend and frontend container services (not waited for)
  --root DIR         stage into DIR (files only, no systemctl), e.g. an image root
  --dry-run          show what would change, change nothing

Exit codes: 0 installed (or nothing to do), 1 refused or failed, 2 bad command
line, 3 bad config.`,
  async run(ctx) {
    const { values } = parseCommandArgs("install", ctx.argv, OPTIONS);
    const staging = values.root !== undefined;
    const root = staging ? resolve(values.root!) : "/";
    const dryRun = values["dry-run"] ?? false;
    await refuseNixos(root);
    if (!staging && !dryRun && Deno.uid() !== 0) {
      throw new ToolError(
        "install writes /etc and /opt and runs systemctl: run it as root, or stage with --root DIR",
      );
    }
    const target = await loadTargetConfig(root, ctx.global.configPath);
    const { config } = target;
    const source = await currentToolSource();
    ctx.log.info(`binary: ${source.description}`);
    const podman = await resolveProgram(root, config.commands.podman);
    if (!podman) {
      ctx.log.warn(`${config.commands.podman} not found under ${root}; units use /usr/bin/podman`);
    }
    const units = renderUnits(await loadTemplates(), {
      config,
      configPath: target.path,
      podmanPath: podman ?? "/usr/bin/podman",
      shPath: "/bin/sh",
      protectHome: source.kind === "launcher" ? "read-only" : "yes",
    }).filter((u) => u.group === "upgrade" || values["with-containers"]);

    const desired: DesiredFile[] = [
      {
        path: config.binPath,
        kind: "binary",
        bytes: source.bytes,
        mode: 0o755,
        text: source.kind === "launcher" ? new TextDecoder().decode(source.bytes) : undefined,
      },
      ...units.map((u): DesiredFile => ({
        path: join(UNIT_DIR, u.name),
        kind: "unit",
        bytes: enc.encode(u.text),
        mode: 0o644,
        text: u.text,
      })),
      {
        path: target.path,
        kind: "config",
        bytes: enc.encode(JSON.stringify(config, null, 2) + "\n"),
        mode: 0o644,
        onlyIfMissing: true,
      },
      {
        path: config.envFile,
        kind: "envFile",
        bytes: enc.encode(ENV_FILE_TEXT),
        mode: 0o600,
        onlyIfMissing: true,
      },
    ];
    const mPath = manifestPath(root, config.stateDir);
    const previous = (await readManifest(mPath)) ?? emptyManifest(TOOL_VERSION);
    const owned = new Set(previous.files.map((f) => f.path));
    const planned: PlannedFile[] = [];
    for (const d of desired) {
      planned.push(await planFile(d, await readCurrent(root, d.path), owned.has(d.path)));
    }
    const changed = planned.filter((p) => p.action === "create" || p.action === "update");
    report(ctx, planned);

    const enableNow = units.filter((u) => u.enable === "now").map((u) => u.name);
    const enableBoot = units.filter((u) => u.enable === "boot").map((u) => u.name);
    if (dryRun) {
      printResult(
        ctx,
        changed.length
          ? `dry run: ${changed.length} file(s) would change`
          : "dry run: nothing would change",
        { dryRun: true, root, changed: changed.length, files: summary(planned) },
      );
      return EXIT.OK;
    }

    // Foreign files are saved and the manifest written before any file is replaced, so
    // that an install cut short leaves nothing uninstall does not know about.
    const manifest: Manifest = structuredClone(previous);
    for (const p of planned) {
      for (const dir of await ensureDirs(root, dirname(p.path))) addOnce(manifest.dirs, dir);
      record(manifest, p, await saveForeign(root, p, backupPath(config.stateDir, p.path)));
    }
    await ensureDirs(root, config.dataDir);
    await ensureDirs(root, config.stateDir, 0o700);
    for (const u of [...enableNow, ...enableBoot]) addOnce(manifest.enabled, u);
    const manifestChanged = JSON.stringify({ ...manifest, updatedAt: "" }) !==
        JSON.stringify({ ...previous, updatedAt: "" }) || !(await exists(mPath));
    if (manifestChanged) {
      await writeManifest(mPath, {
        ...manifest,
        tool: TOOL_VERSION,
        updatedAt: new Date().toISOString(),
      });
    }
    for (const p of planned) await writePlanned(root, p);

    let actions: string[] | null = null;
    if (!staging) {
      const unitNames = (list: PlannedFile[]) =>
        list.filter((p) => p.kind === "unit").map((p) => p.path.slice(UNIT_DIR.length + 1));
      const result = await activateUnits(run, config.commands.systemctl, {
        unitsChanged: unitNames(changed).length > 0,
        enableNow,
        enableBoot,
        updated: unitNames(changed.filter((p) => p.action === "update")),
      });
      actions = result.calls.map((c) => c.join(" "));
      for (const a of actions) ctx.log.info(`systemctl ${a}`);
      for (const name of result.restartNeeded) {
        ctx.log.warn(`${name} changed: restart it to apply (not done: it interrupts the service)`);
      }
      const sockets = enableNow.filter((u) => u.endsWith(".socket"));
      if (result.restartNeeded.length && sockets.length) {
        // A socket cannot bind a port the old container still publishes, and a plain restart
        // may start the socket before the old container is gone: stop first, then start.
        ctx.log.warn(
          `to move the running containers onto their sockets: 'systemctl stop ${
            result.restartNeeded.join(" ")
          }' then 'systemctl start ${[...sockets, ...result.restartNeeded].join(" ")}'`,
        );
      }
    }
    const human = changed.length
      ? `installed: ${changed.length} file(s) changed${staging ? ` under ${root}` : ""}`
      : `nothing changed: the installation${staging ? ` under ${root}` : ""} is up to date`;
    printResult(ctx, human, {
      dryRun: false,
      root,
      changed: changed.length,
      files: summary(planned),
      systemctl: actions,
      manifest: mPath,
    });
    return EXIT.OK;
  },
};

async function refuseNixos(root: string): Promise<void> {
  if (await exists(join(root, "etc/NIXOS"))) {
    throw new ToolError(
      `${
        join(root, "etc/NIXOS")
      } exists: this is NixOS; use the NixOS module (services.grapheon, docs/nixos.md) instead of install`,
    );
  }
}

function addOnce(list: string[], item: string): void {
  if (!list.includes(item)) list.push(item);
}

/** Updates the manifest entry of one planned file. */
function record(manifest: Manifest, p: PlannedFile, backup: string | undefined): void {
  const i = manifest.files.findIndex((f) => f.path === p.path);
  const old = i >= 0 ? manifest.files[i] : undefined;
  if (p.action === "kept") return; // the operator's file, or ours from an earlier run: unchanged
  const entry = {
    path: p.path,
    kind: p.kind,
    sha256: p.sha256,
    ...(old?.backup || backup ? { backup: old?.backup ?? backup } : {}),
  };
  if (i >= 0) manifest.files[i] = entry;
  else manifest.files.push(entry);
}

function summary(planned: PlannedFile[]) {
  return planned.map((p) => ({ path: p.path, kind: p.kind, action: p.action, diff: p.diff }));
}

function report(ctx: CommandContext, planned: PlannedFile[]): void {
  if (ctx.global.json) return;
  for (const p of planned) {
    const note = p.action === "kept" ? " (exists; left as it is)" : "";
    ctx.out(`${p.action.padEnd(9)} ${p.path}${note}`);
    if (p.diff) ctx.out(p.diff.split("\n").map((l) => `    ${l}`).join("\n"));
    else if (p.action === "update") ctx.out("    (binary content differs)");
  }
}
