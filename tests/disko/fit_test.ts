/**
 * The fit rule at its edges. The three disk sizes below were run through
 * sgdisk (GPT fdisk 1.0.9) on sparse image files with the commands disko
 * issues for the contract's VPS (`--align-end --new=N:0:+SIZE`, then `-0`):
 * at EDGE the 100% partition gets exactly 1 MiB; one MiB less and sgdisk puts
 * "persistent" into the 1007 KiB gap before the first partition; one sector
 * less again and `--new=2:0:+80G` fails.
 */
import assert from "node:assert/strict";
import { checkLayout } from "../../lib/disko/check.ts";
import { layoutJson, modelOf, snapshot } from "./fixtures.ts";

const MiB = 2 ** 20;
const EDGE = (1 + 512 + 81920 + 1) * MiB + 33 * 512;

function fit(bytes: number) {
  const findings = checkLayout(modelOf(layoutJson("vps_tmpfs_root")), {
    diskSizes: new Map([["sda", bytes]]),
  });
  return findings.filter((f) => f.rule === "size-exceeds-disk").map((f) => f.path);
}

Deno.test("fit: at the edge the 100% partition gets 1 MiB, accepted", () => {
  assert.deepEqual(fit(EDGE), []);
});

Deno.test("fit: one MiB less, nothing is left for the 100% partition", () => {
  assert.deepEqual(fit(EDGE - MiB), ["disk.sda.content.partitions.persistent.size"]);
});

Deno.test("fit: one sector less again, the 80G partition itself does not fit", () => {
  assert.deepEqual(fit(EDGE - MiB - 512), ["disk.sda.content.partitions.nix.size"]);
});

Deno.test("fit: the recorded 200G machine has the geometry sgdisk produced for this layout", () => {
  assert.deepEqual(fit(200 * 2 ** 30), []);
  const parts = snapshot("vps_lsblk.json").devices.filter((d) => d.type === "part");
  // sgdisk -p on a 200G image: 2048-1050623, 1050624-168822783, 168822784-419428351.
  assert.deepEqual(parts.map((p) => p.size / 512), [1048576, 167772160, 250605568]);
});
