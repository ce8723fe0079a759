/**
 * Mount rules: `/` is mounted, mountpoints are absolute and declared once, a
 * tmpfs root (impermanence) has a persistent /nix, a persistent place for state
 * and a persistent /boot. A layout file alone cannot prove that the system has
 * no root (another module may declare fileSystems."/", and NixOS itself refuses
 * to build without one), so a missing / is a warning unless the whole NixOS
 * configuration was evaluated (`--flake`) and has none.
 */
import { type Finding, finding } from "./findings.ts";
import type { LayoutModel, MountModel } from "./model.ts";

/**
 * What the NixOS configuration (not the layout) mounts at /, when known
 * (`--flake`): null when the configuration has no fileSystems."/".
 */
export type SystemRoot = { fsType: string | null } | null;
import { ESP_MOUNTS } from "./rules_boot.ts";

/** Mounts NixOS already treats as needed for boot (its pathsNeededForBoot). */
const NEEDED_FOR_BOOT_BUILTIN = new Set([
  "/",
  "/nix",
  "/nix/store",
  "/var",
  "/var/log",
  "/var/lib",
  "/var/lib/nixos",
  "/etc",
  "/usr",
]);

function normalised(mp: string): boolean {
  if (mp === "/") return true;
  return mp.startsWith("/") && !mp.endsWith("/") &&
    mp.slice(1).split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

function pathRules(mounts: readonly MountModel[], out: Finding[]): void {
  const byMp = new Map<string, MountModel>();
  for (const m of mounts) {
    if (!normalised(m.mountpoint)) {
      out.push(finding("mountpoint-relative", {
        path: m.path,
        message: `mountpoint "${m.mountpoint}" is not an absolute, normalised path`,
        fix:
          `write it as an absolute path without "..", "." or a trailing slash, such as "/var/lib"`,
      }));
    }
    const first = byMp.get(m.mountpoint);
    if (first) {
      out.push(finding("mountpoint-duplicate", {
        path: m.path,
        message: `${m.mountpoint} is also mounted by ${
          first.path.join(".")
        }; only one of them ends up there`,
        fix: `remove one of the two mountpoints or move one elsewhere`,
      }));
    } else byMp.set(m.mountpoint, m);
  }
}

function tmpfsRootRules(
  layout: { model: LayoutModel; root: MountModel },
  out: Finding[],
): void {
  const { model, root } = layout;
  const persistent = model.mounts.filter((m) => m.persistent);
  const nix = persistent.find((m) => m.mountpoint === "/nix");
  if (!nix) {
    out.push(finding("tmpfs-root-nix", {
      path: root.path,
      message:
        "/ is a tmpfs but no persistent filesystem is mounted at /nix: the store is lost at every boot",
      fix:
        `mount a persistent partition or subvolume at /nix (the contract's VPS uses an 80G ext4 "nix" partition)`,
    }));
  }
  const state = persistent.filter((m) => m.mountpoint !== "/nix" && !ESP_MOUNTS.has(m.mountpoint));
  if (state.length === 0) {
    // It boots: state can live under /nix (impermanence's /nix/persist) or nowhere.
    out.push(finding("tmpfs-root-state", {
      path: root.path,
      message:
        "/ is a tmpfs and no persistent mount besides /nix and /boot holds state (/etc/ssh host keys, /var/lib): unless impermanence keeps it under /nix/persist, every reboot starts blank",
      fix:
        `persist state under /nix/persist with impermanence, or mount a persistent filesystem such as /persistent (neededForBoot)`,
    }));
  }
  for (const m of state) {
    if (NEEDED_FOR_BOOT_BUILTIN.has(m.mountpoint)) continue;
    out.push(finding("needed-for-boot", {
      path: m.path,
      message:
        `${m.mountpoint} holds state for a tmpfs root; impermanence links from it in stage 1, before normal mounts`,
      fix:
        `set fileSystems."${m.mountpoint}".neededForBoot = true; in the NixOS configuration (disko does not)`,
    }));
  }
  const espAtEfi = model.mounts.some((m) => m.mountpoint === "/boot/efi");
  const boot = model.mounts.find((m) => m.mountpoint === "/boot");
  if (espAtEfi && !boot?.persistent) {
    out.push(finding("tmpfs-root-boot", {
      path: root.path,
      message:
        "/ is a tmpfs and the ESP is at /boot/efi, so /boot (kernels, GRUB config) lives in RAM and is gone at boot",
      fix: `mount the ESP at /boot, or mount a persistent filesystem at /boot`,
    }));
  }
  const opts = root.options.flatMap((o) => o.split(","));
  if (!opts.includes("mode=755") && !opts.includes("mode=0755")) {
    out.push(finding("tmpfs-root-mode", {
      path: root.path,
      message:
        "tmpfs root without mode=755 is created 1777 (world-writable); sshd and others refuse such a /",
      fix: `mountOptions = [ "defaults" "size=1G" "mode=755" ];`,
    }));
  }
}

/** Runs the mount rules; `systemRoot` is the NixOS configuration's / when known. */
export function mountRules(model: LayoutModel, systemRoot?: SystemRoot): Finding[] {
  const out: Finding[] = [];
  pathRules(model.mounts, out);
  const root = model.mounts.find((m) => m.mountpoint === "/");
  const fix =
    `set mountpoint = "/" on the root filesystem, or add nodev."/" = { fsType = "tmpfs"; mountOptions = [ "size=1G" "mode=755" ]; }`;
  if (!root && systemRoot === null) {
    out.push(finding("root-missing", {
      path: [],
      message: "nothing is mounted at /, neither by the layout nor by the NixOS configuration",
      fix,
    }));
  } else if (!root && systemRoot === undefined) {
    out.push(finding("root-missing", {
      path: [],
      severity: "warning",
      message:
        'the layout mounts nothing at /: fine only if another module declares fileSystems."/" (check the whole system with --flake)',
      fix,
    }));
  } else if (root && !root.persistent) tmpfsRootRules({ model, root }, out);
  return out;
}
