/**
 * The running machine's disks and mounts: the JSON of `lsblk --json --bytes`
 * and `findmnt --json`, parsed with zod and flattened. Reading them goes
 * through the command runner (or a recorded file, for tests and for checking a
 * host from elsewhere); everything after that is pure.
 */
import { z } from "zod";
import { describeIssues } from "../config/config.ts";
import { errorMessage, InputError } from "../core/errors.ts";
import { runChecked, type Runner } from "../host/exec.ts";

/** The lsblk columns the comparison reads. */
export const LSBLK_COLUMNS = "NAME,PATH,TYPE,SIZE,FSTYPE,PARTLABEL,PARTTYPE,PKNAME,MOUNTPOINT";

const num = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]);

interface RawBlock {
  name: string;
  path?: string | null;
  type: string;
  size: number;
  start?: number | null;
  fstype?: string | null;
  partlabel?: string | null;
  parttype?: string | null;
  pkname?: string | null;
  children?: RawBlock[];
}

const blockSchema: z.ZodType<RawBlock> = z.looseObject({
  name: z.string(),
  path: z.string().nullable().optional(),
  type: z.string(),
  size: num,
  start: num.nullable().optional(),
  fstype: z.string().nullable().optional(),
  partlabel: z.string().nullable().optional(),
  parttype: z.string().nullable().optional(),
  pkname: z.string().nullable().optional(),
  get children() {
    return z.array(blockSchema).optional();
  },
}) as unknown as z.ZodType<RawBlock>;

const lsblkSchema = z.looseObject({ blockdevices: z.array(blockSchema) });

interface RawMount {
  target: string;
  source: string;
  fstype: string;
  options?: string;
  children?: RawMount[];
}

const mountSchema: z.ZodType<RawMount> = z.looseObject({
  target: z.string(),
  source: z.string(),
  fstype: z.string(),
  options: z.string().optional(),
  get children() {
    return z.array(mountSchema).optional();
  },
}) as unknown as z.ZodType<RawMount>;

const findmntSchema = z.looseObject({ filesystems: z.array(mountSchema) });

/** One block device, flattened. */
export interface BlockDevice {
  /** Kernel name (`sda2`). */
  name: string;
  /** Device path (`/dev/sda2`). */
  path: string;
  /** `disk`, `part`, `crypt`, `lvm`, `raid1`, … */
  type: string;
  /** Size in bytes. */
  size: number;
  /** Start in 512-byte sectors, when lsblk reports it. */
  start: number | null;
  /** Filesystem signature (`vfat`, `ext4`, `crypto_LUKS`, …) or null. */
  fstype: string | null;
  /** GPT partition name or null. */
  partlabel: string | null;
  /** GPT partition type GUID (lowercase) or null. */
  parttype: string | null;
  /** Parent device name, or null for a whole disk. */
  parent: string | null;
  /** Partition number derived from the name (`sda2` → 2, `nvme0n1p3` → 3), or null. */
  number: number | null;
}

/** One mounted filesystem. */
export interface LiveMount {
  /** Mountpoint. */
  target: string;
  /** Source device without a btrfs `[/subvol]` suffix. */
  source: string;
  /** The btrfs subvolume in brackets, if any. */
  subvolume: string | null;
  /** Filesystem type. */
  fstype: string;
}

/** The machine's block devices and mounts. */
export interface LiveSnapshot {
  /** Every block device, flattened. */
  devices: BlockDevice[];
  /** Every mount, flattened. */
  mounts: LiveMount[];
}

function partNumber(name: string, parent: string | null): number | null {
  if (!parent || !name.startsWith(parent)) return null;
  const m = /^p?(\d+)$/.exec(name.slice(parent.length));
  return m ? Number(m[1]) : null;
}

function flattenBlocks(list: RawBlock[], at: { parent: string | null; out: BlockDevice[] }): void {
  const { parent, out } = at;
  for (const b of list) {
    const pk = b.pkname ?? parent;
    out.push({
      name: b.name,
      path: b.path ?? `/dev/${b.name}`,
      type: b.type,
      size: b.size,
      start: b.start ?? null,
      fstype: b.fstype ?? null,
      partlabel: b.partlabel ?? null,
      parttype: b.parttype?.toLowerCase() ?? null,
      parent: pk,
      number: b.type === "part" ? partNumber(b.name, pk) : null,
    });
    flattenBlocks(b.children ?? [], { parent: b.name, out });
  }
}

function flattenMounts(list: RawMount[], out: LiveMount[]): void {
  for (const m of list) {
    const sv = /^(.*)\[(.*)\]$/.exec(m.source);
    out.push({
      target: m.target,
      source: sv ? sv[1] : m.source,
      subvolume: sv ? sv[2] : null,
      fstype: m.fstype,
    });
    flattenMounts(m.children ?? [], out);
  }
}

function parseJson<T>(file: { text: string; source: string }, schema: z.ZodType<T>): T {
  const { text, source } = file;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${source}: not valid JSON: ${errorMessage(err)}`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new InputError(`${source}: ${describeIssues(r.error)}`);
  return r.data;
}

/** Parses lsblk and findmnt JSON (findmnt may be absent: no mount information). */
export function parseSnapshot(
  lsblk: { text: string; source: string },
  findmnt?: { text: string; source: string },
): LiveSnapshot {
  const devices: BlockDevice[] = [];
  flattenBlocks(parseJson(lsblk, lsblkSchema).blockdevices, { parent: null, out: devices });
  const mounts: LiveMount[] = [];
  if (findmnt) {
    flattenMounts(parseJson(findmnt, findmntSchema).filesystems, mounts);
  }
  return { devices, mounts };
}

/** Programs for reading the live machine. */
export interface LiveCommands {
  /** Runner. */
  runner: Runner;
  /** lsblk program. */
  lsblk: string;
  /** findmnt program. */
  findmnt: string;
}

/** Runs lsblk and findmnt and parses their JSON. */
export async function readLiveSnapshot(cmds: LiveCommands): Promise<LiveSnapshot> {
  const lsblkArgv = [cmds.lsblk, "--json", "--bytes", "--output", LSBLK_COLUMNS];
  const findmntArgv = [cmds.findmnt, "--json", "--output", "TARGET,SOURCE,FSTYPE,OPTIONS"];
  const [l, f] = await Promise.all([
    runChecked(cmds.runner, lsblkArgv, { timeoutMs: 30_000 }),
    runChecked(cmds.runner, findmntArgv, { timeoutMs: 30_000 }),
  ]);
  return parseSnapshot(
    { text: l.stdout, source: lsblkArgv.join(" ") },
    { text: f.stdout, source: findmntArgv.join(" ") },
  );
}
