/**
 * Boot rules: a layout must have a way to boot. UEFI needs one EF00 ESP with
 * vfat mounted at /boot (systemd-boot keeps every generation's kernel and
 * initrd there) or /boot/efi (GRUB); BIOS needs an EF02 partition for GRUB's
 * core image. An ESP on md RAID1 must use metadata 1.0 so the firmware sees a
 * plain FAT filesystem. A legacy `table` boots through parted's flags (boot/esp
 * on GPT marks the ESP, bios_grub the BIOS boot partition) or, on msdos, through
 * the gap after the MBR where GRUB embeds itself. A layout that mounts nothing
 * at / is part of a system whose root (and boot loader) may be elsewhere, so a
 * missing boot partition is only a warning there.
 */
import { type Finding, finding } from "./findings.ts";
import type { FieldPath, LayoutModel, PartitionModel } from "./model.ts";
import { asContent } from "./schema.ts";
import { formatBytes, MIB, parsePartitionSize, partitionBytes } from "./size.ts";

const ESP_GUID = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
const BIOS_GUID = "21686148-6449-6e6f-744e-656564454649";
/** Where an ESP may be mounted for NixOS's boot loaders. */
export const ESP_MOUNTS: ReadonlySet<string> = new Set(["/boot", "/boot/efi"]);
/** Below this an ESP at /boot holds about one generation (kernel + initrd are 30-60 MiB). */
const ESP_MIN = 128 * MIB;
/** disko's own examples use 500M; less holds only a few generations. */
const ESP_RECOMMENDED = 500 * MIB;

/** True for an EF00 (or ESP GUID) partition. */
export function isEsp(p: PartitionModel): boolean {
  return p.type.toUpperCase() === "EF00" || p.type.toLowerCase() === ESP_GUID;
}

/** True for an EF02 (or BIOS boot GUID) partition. */
export function isBiosBoot(p: PartitionModel): boolean {
  return p.type.toUpperCase() === "EF02" || p.type.toLowerCase() === BIOS_GUID;
}

interface EspFs {
  format: string;
  mountpoint: string | null;
  options: readonly string[];
  path: FieldPath;
}

/** The filesystem an ESP holds, directly or through an md array; null with a finding when none. */
function espFilesystem(
  esp: { model: LayoutModel; p: PartitionModel },
  out: Finding[],
): EspFs | null {
  const { model, p } = esp;
  const c = p.content;
  const at = [...p.path, "content"];
  if (c?.type === "filesystem") {
    return {
      format: c.format,
      mountpoint: c.mountpoint ?? null,
      options: c.mountOptions ?? [],
      path: at,
    };
  }
  if (c?.type === "mdraid") {
    const entry = Object.entries(model.devices.mdadm ?? {}).find(([k, m]) =>
      (m.name ?? k) === c.name
    );
    if (!entry) return null; // reference-missing reports it
    const [key, md] = entry;
    if ((md.metadata ?? "default") !== "1.0") {
      out.push(finding("esp-format", {
        path: ["mdadm", key, "metadata"],
        message: `ESP "${p.name}" is an md member of "${c.name}" with metadata ${
          md.metadata ?? "default (1.2)"
        }; the firmware cannot read a FAT filesystem behind an md superblock at the start`,
        fix: `set metadata = "1.0" on mdadm.${key} (superblock at the end)`,
      }));
    }
    const mc = asContent(md.content);
    if (mc?.type === "filesystem") {
      return {
        format: mc.format,
        mountpoint: mc.mountpoint ?? null,
        options: mc.mountOptions ?? [],
        path: ["mdadm", key, "content"],
      };
    }
    out.push(finding("esp-format", {
      path: ["mdadm", key, "content"],
      message: `ESP array "${c.name}" does not hold a filesystem`,
      fix:
        `give mdadm.${key} content = { type = "filesystem"; format = "vfat"; mountpoint = "/boot"; }`,
    }));
    return null;
  }
  out.push(finding("esp-format", {
    path: at,
    message: `ESP "${p.name}" (type ${p.type}) holds ${
      c ? `a ${c.type === "unknown" ? c.originalType : c.type}` : "nothing"
    }, not a vfat filesystem`,
    fix:
      `content = { type = "filesystem"; format = "vfat"; mountpoint = "/boot"; mountOptions = [ "umask=0077" ]; }`,
  }));
  return null;
}

function hasPrivateMask(options: readonly string[]): boolean {
  const set = new Set(options.flatMap((o) => o.split(",")));
  return set.has("umask=0077") || set.has("umask=077") ||
    ((set.has("fmask=0077") || set.has("fmask=0177")) && set.has("dmask=0077"));
}

/**
 * A small ESP installs and boots; it runs out of room when generations pile up,
 * and a rebuild then fails before it switches. So: a warning, never an error.
 */
function espSize(p: PartitionModel, out: Finding[]): void {
  const bytes = partitionBytes(p);
  if (bytes === null || bytes >= ESP_RECOMMENDED) return;
  out.push(finding("esp-size", {
    path: [...p.path, p.size !== undefined ? "size" : "end"],
    message: `ESP "${p.name}" is ${
      formatBytes(bytes)
    }; at /boot it holds every generation's kernel and initrd (30-60M each)${
      bytes < ESP_MIN
        ? ", so about one: it installs and boots, and a later rebuild fails with no space left on /boot"
        : ""
    }`,
    fix:
      `make it 512M or more (1G if you keep many generations); set boot.loader.systemd-boot.configurationLimit too`,
  }));
}

/** Whether a legacy table gives the machine a way to boot: an ESP by parted flag, bios_grub, or MBR. */
function tableBoots(model: LayoutModel): boolean {
  for (const d of model.disks) {
    if (!d.table) continue;
    if (d.table.format === "msdos") return true;
    for (const p of d.table.partitions) {
      const flags = new Set([...p.flags, ...(p.bootable ? ["boot"] : [])]);
      if (flags.has("bios_grub")) return true;
      const c = p.content;
      const vfatAtBoot = c?.type === "filesystem" && c.format === "vfat" &&
        c.mountpoint != null && ESP_MOUNTS.has(c.mountpoint);
      if ((flags.has("boot") || flags.has("esp")) && vfatAtBoot) return true;
    }
  }
  return false;
}

/** Runs the boot rules. */
export function bootRules(model: LayoutModel): Finding[] {
  const out: Finding[] = [];
  const parts = model.disks.flatMap((d) => d.partitions);
  const esps = parts.filter(isEsp);
  const bios = parts.filter(isBiosBoot);
  for (const p of bios) {
    if (p.content) {
      out.push(finding("bios-boot", {
        path: [...p.path, "content"],
        message:
          `BIOS boot partition "${p.name}" (EF02) has content; GRUB writes its core image there raw`,
        fix: `remove content from the EF02 partition`,
      }));
    }
    const size = p.size ? parsePartitionSize(p.size) : null;
    if (size?.kind === "bytes" && size.bytes < MIB) {
      out.push(finding("bios-boot", {
        path: [...p.path, "size"],
        message: `BIOS boot partition "${p.name}" is ${p.size}; GRUB's core image needs about 1M`,
        fix: `size = "1M";`,
      }));
    }
  }
  let goodEsp = false;
  const misplaced: { p: PartitionModel; fs: EspFs }[] = [];
  for (const disk of model.disks) {
    const onDisk = disk.partitions.filter(isEsp);
    for (const p of onDisk.slice(1)) {
      out.push(finding("esp-multiple", {
        path: [...p.path, "type"],
        message: `${disk.name} has ${onDisk.length} ESPs (${
          onDisk.map((q) => q.name).join(", ")
        }); the firmware boots one of them, not necessarily the one the boot loader updates`,
        fix: `keep one EF00 partition per disk (mirror ESPs across disks, not within one)`,
      }));
    }
  }
  for (const p of esps) {
    const fs = espFilesystem({ model, p }, out);
    if (!fs) continue;
    if (fs.format !== "vfat") {
      out.push(finding("esp-format", {
        path: [...fs.path, "format"],
        message: `ESP "${p.name}" is formatted ${fs.format}; UEFI firmware reads only FAT`,
        fix: `format = "vfat";`,
      }));
      continue;
    }
    if (fs.mountpoint === null || !ESP_MOUNTS.has(fs.mountpoint)) {
      misplaced.push({ p, fs });
      continue;
    }
    goodEsp = true;
    if (fs.mountpoint === "/boot") espSize(p, out);
    if (!hasPrivateMask(fs.options)) {
      out.push(finding("esp-umask", {
        path: [...fs.path, "mountOptions"],
        message:
          `ESP at ${fs.mountpoint} is mounted without umask=0077: the boot loader's random seed and config are world-readable`,
        fix: `mountOptions = [ "umask=0077" ];`,
      }));
    }
  }
  if (!goodEsp) {
    for (const { p, fs } of misplaced) {
      out.push(finding("esp-mountpoint", {
        path: [...fs.path, "mountpoint"],
        message: `ESP "${p.name}" is ${
          fs.mountpoint ? `mounted at ${fs.mountpoint}` : "not mounted"
        }; the boot loader installs to /boot or /boot/efi`,
        fix: `mountpoint = "/boot"; (systemd-boot) or "/boot/efi" (GRUB with a separate /boot)`,
      }));
    }
  }
  if (esps.length === 0 && bios.length === 0 && !tableBoots(model)) {
    const hasRoot = model.mounts.some((m) => m.mountpoint === "/");
    out.push(finding("boot-missing", {
      path: model.disks[0]?.path ?? [],
      severity: hasRoot ? "error" : "warning",
      message: hasRoot
        ? "no EF00 ESP and no EF02 BIOS boot partition: / is on this layout but the machine has nothing to boot from"
        : "no EF00 ESP and no EF02 BIOS boot partition, and nothing at / either: fine only if this layout is part of a system whose root and boot loader are declared elsewhere",
      fix:
        `add ESP = { size = "512M"; type = "EF00"; content = { type = "filesystem"; format = "vfat"; mountpoint = "/boot"; mountOptions = [ "umask=0077" ]; }; };`,
    }));
  }
  return out;
}
