/**
 * A zod schema of disko's device tree (`disko.devices`): either as disko's own
 * evaluation returns it (every default filled in, `_index` kept) or as the user
 * wrote it (lib/disko/partition_order.ts then fills the defaults the way disko
 * does). Extra keys are kept (hooks, image options) and a content of a type this
 * tool does not know becomes `{ type: "unknown" }` so the checker warns instead
 * of failing. Structure errors (a missing `device`, a size that is not a string)
 * are bad input; the meaning of values (size syntax, order) is for the rules.
 */
import { z } from "zod";

/** Content types this tool understands. */
export const KNOWN_CONTENT_TYPES: ReadonlySet<string> = new Set([
  "gpt",
  "table",
  "filesystem",
  "swap",
  "luks",
  "lvm_pv",
  "btrfs",
  "zfs",
  "mdraid",
  "bcachefs",
]);

/** Top-level device kinds this tool understands. */
export const KNOWN_DEVICE_KINDS: readonly string[] = [
  "disk",
  "nodev",
  "lvm_vg",
  "mdadm",
  "zpool",
  "bcachefs_filesystems",
];

const strings = z.array(z.string());
const mountpoint = z.string().nullable().optional();

/** Replaces a content of an unknown `type` by a marker node, keeping the original type name. */
function markUnknown(value: unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const type = (value as { type?: unknown }).type;
    if (typeof type === "string" && !KNOWN_CONTENT_TYPES.has(type)) {
      return { type: "unknown", originalType: type };
    }
  }
  return value;
}

const filesystemSchema = z.looseObject({
  type: z.literal("filesystem"),
  format: z.string().min(1),
  mountpoint,
  mountOptions: strings.optional(),
  extraArgs: strings.optional(),
});

const swapSchema = z.looseObject({
  type: z.literal("swap"),
  randomEncryption: z.boolean().optional(),
  resumeDevice: z.boolean().optional(),
  extraArgs: strings.optional(),
});

const lvmPvSchema = z.looseObject({ type: z.literal("lvm_pv"), vg: z.string().min(1) });
const zfsSchema = z.looseObject({ type: z.literal("zfs"), pool: z.string().min(1) });
const mdraidSchema = z.looseObject({ type: z.literal("mdraid"), name: z.string().min(1) });
/** A member device of a bcachefs filesystem declared in `bcachefs_filesystems` (disko's bcachefs.nix). */
const bcachefsSchema = z.looseObject({
  type: z.literal("bcachefs"),
  filesystem: z.string().min(1),
  label: z.string().optional(),
});
const unknownSchema = z.looseObject({ type: z.literal("unknown"), originalType: z.string() });

const subvolumeSchema = z.looseObject({
  name: z.string().optional(),
  mountpoint,
  mountOptions: strings.optional(),
  extraArgs: strings.optional(),
  swap: z.record(z.string(), z.looseObject({ size: z.string(), path: z.string().optional() }))
    .optional(),
});

const btrfsSchema = z.looseObject({
  type: z.literal("btrfs"),
  mountpoint,
  mountOptions: strings.optional(),
  extraArgs: strings.optional(),
  subvolumes: z.record(z.string(), subvolumeSchema).optional(),
});

/** A GPT partition (`disk.<d>.content.partitions.<name>`). */
export const partitionSchema = z.looseObject({
  size: z.string().optional(),
  start: z.string().optional(),
  end: z.string().optional(),
  type: z.string().optional(),
  label: z.string().optional(),
  name: z.string().optional(),
  priority: z.number().int().optional(),
  device: z.string().optional(),
  uuid: z.string().nullable().optional(),
  /** The partition number from disko's evaluation (an internal option disko computes; kept). */
  _index: z.number().int().positive().optional(),
  get content() {
    return contentSchema.nullable().optional();
  },
});

const gptSchema = z.looseObject({
  type: z.literal("gpt"),
  device: z.string().optional(),
  partitions: z.record(z.string(), partitionSchema).optional(),
});

/** A legacy msdos table partition (a list, in order). */
const tablePartitionSchema = z.looseObject({
  name: z.string().nullable().optional(),
  start: z.string().optional(),
  end: z.string().optional(),
  bootable: z.boolean().optional(),
  flags: strings.optional(),
  get content() {
    return contentSchema.nullable().optional();
  },
});

const tableSchema = z.looseObject({
  type: z.literal("table"),
  format: z.string().optional(),
  partitions: z.array(tablePartitionSchema).optional(),
});

const luksSchema = z.looseObject({
  type: z.literal("luks"),
  name: z.string().min(1),
  keyFile: z.string().nullable().optional(),
  passwordFile: z.string().nullable().optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
  extraFormatArgs: strings.optional(),
  get content() {
    return contentSchema.nullable().optional();
  },
});

/** Any content node: what a disk, partition, LV, LUKS container or md array holds. */
export const contentSchema = z.preprocess(
  markUnknown,
  z.discriminatedUnion("type", [
    gptSchema,
    tableSchema,
    filesystemSchema,
    swapSchema,
    luksSchema,
    lvmPvSchema,
    btrfsSchema,
    zfsSchema,
    mdraidSchema,
    bcachefsSchema,
    unknownSchema,
  ]),
);

/** `disko.devices.disk.<name>`. */
export const diskSchema = z.looseObject({
  type: z.literal("disk").optional(),
  device: z.string().min(1),
  name: z.string().optional(),
  destroy: z.boolean().optional(),
  imageSize: z.string().optional(),
  content: contentSchema.nullable().optional(),
});

/** `disko.devices.nodev.<mountpoint>`: tmpfs and other device-less mounts. */
export const nodevSchema = z.looseObject({
  type: z.literal("nodev").optional(),
  fsType: z.string().min(1),
  device: z.string().optional(),
  mountpoint,
  mountOptions: strings.optional(),
});

const lvSchema = z.looseObject({
  size: z.string(),
  name: z.string().optional(),
  priority: z.number().int().optional(),
  lvm_type: z.string().nullable().optional(),
  pool: z.string().nullable().optional(),
  extraArgs: strings.optional(),
  content: contentSchema.nullable().optional(),
});

/** `disko.devices.lvm_vg.<name>`. */
export const lvmVgSchema = z.looseObject({
  type: z.literal("lvm_vg").optional(),
  name: z.string().optional(),
  lvs: z.record(z.string(), lvSchema).optional(),
});

/** `disko.devices.mdadm.<name>`. */
export const mdadmSchema = z.looseObject({
  type: z.literal("mdadm").optional(),
  name: z.string().optional(),
  level: z.number().int().optional(),
  metadata: z.string().optional(),
  content: contentSchema.nullable().optional(),
});

const datasetSchema = z.looseObject({
  type: z.string().optional(),
  name: z.string().optional(),
  mountpoint,
  mountOptions: strings.optional(),
  options: z.record(z.string(), z.string()).optional(),
  size: z.string().nullable().optional(),
  content: contentSchema.nullable().optional(),
});

/** `disko.devices.zpool.<name>`. */
export const zpoolSchema = z.looseObject({
  type: z.literal("zpool").optional(),
  name: z.string().optional(),
  mode: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
  options: z.record(z.string(), z.string()).optional(),
  rootFsOptions: z.record(z.string(), z.string()).optional(),
  mountpoint,
  mountOptions: strings.optional(),
  datasets: z.record(z.string(), datasetSchema).optional(),
});

/** `disko.devices.bcachefs_filesystems.<name>` (disko's bcachefs_filesystem.nix). */
export const bcachefsFilesystemSchema = z.looseObject({
  type: z.literal("bcachefs_filesystem").optional(),
  name: z.string().optional(),
  mountpoint,
  mountOptions: strings.optional(),
  subvolumes: z.record(
    z.string(),
    z.looseObject({ name: z.string().optional(), mountpoint, mountOptions: strings.optional() }),
  ).optional(),
});

/** `disko.devices`. */
export const devicesSchema = z.looseObject({
  disk: z.record(z.string(), diskSchema).optional(),
  nodev: z.record(z.string(), nodevSchema).optional(),
  lvm_vg: z.record(z.string(), lvmVgSchema).optional(),
  mdadm: z.record(z.string(), mdadmSchema).optional(),
  zpool: z.record(z.string(), zpoolSchema).optional(),
  bcachefs_filesystems: z.record(z.string(), bcachefsFilesystemSchema).optional(),
});

/** The device tree as written. */
export type Devices = z.infer<typeof devicesSchema>;
/** One disk. */
export type Disk = z.infer<typeof diskSchema>;
/** One GPT partition. */
export type Partition = z.infer<typeof partitionSchema>;
/** Any content node. */
export type Content = z.infer<typeof contentSchema>;
/** One nodev mount. */
export type Nodev = z.infer<typeof nodevSchema>;
/** One volume group. */
export type LvmVg = z.infer<typeof lvmVgSchema>;
/** One md array. */
export type Mdadm = z.infer<typeof mdadmSchema>;
/** One ZFS pool. */
export type Zpool = z.infer<typeof zpoolSchema>;
/** One bcachefs filesystem. */
export type BcachefsFilesystem = z.infer<typeof bcachefsFilesystemSchema>;

/**
 * A nested `content` field as a Content: the schema is recursive, so TypeScript
 * types some nested `content` fields loosely although zod validated them.
 */
export function asContent(value: unknown): Content | null {
  return (value ?? null) as Content | null;
}
