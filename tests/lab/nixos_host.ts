/**
 * The lab host configured by the NixOS module instead of `install`: the module
 * evaluated with nixpkgs' real lib.evalModules (tests/nix/eval_module.nix), its
 * outputs put where NixOS puts them, and the part of `nixos-rebuild switch` that
 * concerns them played on the host's real systemd. No NixOS here, so two things
 * stand in, and say so:
 * - the stubbed packages are "installed" in /usr (tests/nix/stub_pkgs.nix
 *   hostPrefix): the rendered units and config name the host's real programs
 *   (/usr/bin/podman, /usr/bin/bash, …) and run as written; the grapheon-tool
 *   package is /opt/grapheon, whose bin/grapheon-tool is a launcher of the
 *   checkout (deno compile cannot get its runtime here), as `install` writes;
 * - the switch is modelled on switch-to-configuration (nixpkgs
 *   pkgs/by-name/sw/switch-to-configuration-ng): units and `.wants` links in
 *   /etc/systemd/system, /etc files, tmpfiles rules, `daemon-reload`,
 *   `systemd-tmpfiles --create`, changed active units restarted unless they say
 *   `X-RestartIfChanged=false` ([Service]), then every active target started
 *   again, which starts what they want and is not active.
 */
import { join } from "node:path";
import { launcherScript } from "../../lib/install/source.ts";
import { evalModule, type ModuleEval } from "../nix/nix_eval.ts";
import type { Lab } from "./lab.ts";
import { SEED_VERSION } from "./images.ts";
import { HOST_DENO_DIR, labToolConfig, SRC_DIR } from "./tool.ts";

/** The grapheon-tool package's path (services.grapheon.package) in the lab. */
export const PACKAGE_DIR = "/opt/grapheon";
/** Where the rules of systemd.tmpfiles.rules go on the host. */
const TMPFILES = "/etc/tmpfiles.d/grapheon-nixos.conf";

/**
 * The module evaluated for the lab host: images from the lab registry, the seed
 * release as the tags, the lab's timeouts (and `settings`) as upgrade.settings.
 */
export function evalLabModule(
  lab: Lab,
  settings: Record<string, unknown> = {},
): Promise<ModuleEval> {
  const { backend, frontend, ...rest } = labToolConfig(lab) as {
    backend: { image: string };
    frontend: { image: string };
  } & Record<string, unknown>;
  return evalModule({
    enable: true,
    package: PACKAGE_DIR,
    backend: { image: backend.image, tag: `v${SEED_VERSION}` },
    frontend: { image: frontend.image, tag: `v${SEED_VERSION}` },
    upgrade: { settings: { ...rest, ...settings } },
  }, { hostPrefix: "/usr" });
}

/** Writes the package's bin/grapheon-tool: a launcher of the checkout mounted in the host. */
export async function installPackage(lab: Lab): Promise<void> {
  const bin = lab.hostPath(join(PACKAGE_DIR, "bin"));
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(
    join(bin, "grapheon-tool"),
    launcherScript({
      deno: "/usr/local/bin/deno",
      main: `${SRC_DIR}/main.ts`,
      denoDir: HOST_DENO_DIR,
    }),
    { mode: 0o755 },
  );
}

/** What a modelled switch did. */
export interface SwitchReport {
  /** Units whose file changed or appeared. */
  changed: string[];
  /** Changed active units restarted. */
  restarted: string[];
}

async function readOr(path: string): Promise<string | null> {
  return await Deno.readTextFile(path).catch(() => null);
}

/** Puts the evaluated configuration on the host and switches to it (see the module doc). */
export async function switchTo(lab: Lab, m: ModuleEval): Promise<SwitchReport> {
  // /etc files. NixOS builds each source first: the config's runCommand runs
  // `grapheon-tool config --check` on it, so a bad config never reaches /etc.
  for (const [name, file] of Object.entries(m.config.environment.etc)) {
    const path = lab.hostPath(join("/etc", file.target));
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await Deno.writeTextFile(`${path}.new`, file.source.json);
    const check = await lab.exec(
      [
        join(PACKAGE_DIR, "bin/grapheon-tool"),
        "config",
        "--check",
        join("/etc", `${file.target}.new`),
      ],
      { check: false, env: { DENO_DIR: HOST_DENO_DIR } },
    );
    if (check.code !== 0) {
      await Deno.remove(`${path}.new`);
      throw new Error(
        `environment.etc.${name}: the build's config --check failed: ${check.stderr}`,
      );
    }
    await Deno.rename(`${path}.new`, path);
  }
  await Deno.writeTextFile(
    lab.hostPath(TMPFILES),
    m.config.systemd.tmpfiles.rules.join("\n") + "\n",
  );
  const report: SwitchReport = { changed: [], restarted: [] };
  const unitDir = lab.hostPath("/etc/systemd/system");
  for (const [name, unit] of Object.entries(m.config.systemd.units)) {
    const path = join(unitDir, name);
    if (await readOr(path) !== unit.text) report.changed.push(name);
    await Deno.writeTextFile(path, unit.text!);
    // nixos/lib/systemd-lib.nix generateUnits: `ln -sfn '../NAME' TARGET.wants/`.
    for (const target of unit.wantedBy) {
      const wants = join(unitDir, `${target}.wants`);
      await Deno.mkdir(wants, { recursive: true });
      await Deno.remove(join(wants, name)).catch(() => {});
      await Deno.symlink(`../${name}`, join(wants, name));
    }
  }
  await lab.systemctl("daemon-reload");
  await lab.exec(["systemd-tmpfiles", "--create", TMPFILES]);
  for (const name of report.changed) {
    const state = (await lab.exec(["systemctl", "show", "-P", "ActiveState", name])).stdout.trim();
    if (state !== "active") continue;
    if (/^X-RestartIfChanged=false$/m.test(m.config.systemd.units[name].text!)) continue;
    await lab.systemctl("restart", name);
    report.restarted.push(name);
  }
  // The targets that are active (here: multi-user.target and what it pulls in).
  await lab.exec(["systemctl", "start", "multi-user.target"], { timeoutMs: 300_000 });
  return report;
}
