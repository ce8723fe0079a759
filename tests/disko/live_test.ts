/** `--live` from recorded lsblk/findmnt JSON: a matching machine, a drifted one, a renamed one, a small disk. */
import assert from "node:assert/strict";
import { diffExitCode } from "../../lib/disko/changes.ts";
import { checkLayout } from "../../lib/disko/check.ts";
import { diffLive } from "../../lib/disko/diff_live.ts";
import { liveFindings, matchLive } from "../../lib/disko/live_compare.ts";
import { parseSnapshot } from "../../lib/disko/live_snapshot.ts";
import { EXIT } from "../../lib/core/exit_codes.ts";
import { InputError } from "../../lib/core/errors.ts";
import { RULES } from "../../lib/disko/findings.ts";
import { layoutJson, modelOf, mutated, snapshot } from "./fixtures.ts";

const noResolve = () => null;
const VPS = "disk.sda.content.partitions";

Deno.test("snapshot: lsblk tree and findmnt tree are flattened; partition numbers and subvolume sources", () => {
  const snap = snapshot("vps_lsblk.json", "vps_findmnt.json");
  const parts = snap.devices.filter((d) => d.type === "part");
  assert.deepEqual(parts.map((p) => [p.name, p.number, p.partlabel, p.parent]), [
    ["sda1", 1, "disk-sda-ESP", "sda"],
    ["sda2", 2, "disk-sda-nix", "sda"],
    ["sda3", 3, "disk-sda-persistent", "sda"],
  ]);
  const ssh = snap.mounts.find((m) => m.target === "/etc/ssh")!;
  assert.deepEqual([ssh.source, ssh.subvolume], ["/dev/sda3", "/etc/ssh"]);
  assert.ok(snap.mounts.some((m) => m.target === "/nix/store"));
});

Deno.test("snapshot: NVMe names and string sizes from older lsblk", () => {
  const snap = parseSnapshot({
    source: "old.json",
    text: JSON.stringify({
      blockdevices: [{
        name: "nvme0n1",
        type: "disk",
        size: "1000204886016",
        children: [{
          name: "nvme0n1p2",
          type: "part",
          size: "536870912",
          partlabel: "disk-main-ESP",
        }],
      }],
    }),
  });
  assert.deepEqual(snap.devices.map((d) => [d.path, d.size, d.number]), [
    ["/dev/nvme0n1", 1000204886016, null],
    ["/dev/nvme0n1p2", 536870912, 2],
  ]);
});

Deno.test("snapshot: invalid lsblk JSON is bad input naming the file and field", () => {
  assert.throws(
    () => parseSnapshot({ source: "x.json", text: '{"blockdevices":[{"name":"sda"}]}' }),
    (e) => e instanceof InputError && /x\.json: field blockdevices\.0\.type/.test(e.message),
  );
});

Deno.test("live, matching machine: no drift, live disk size feeds the fit rule, diff --live has no changes", () => {
  const model = modelOf(layoutJson("vps_tmpfs_root"));
  const snap = snapshot("vps_lsblk.json", "vps_findmnt.json");
  const match = matchLive({ model, snap, resolve: noResolve });
  assert.deepEqual(liveFindings({ model, snap, match }), []);
  assert.equal(match.diskSizes.get("sda"), 200 * 2 ** 30);
  assert.deepEqual(
    checkLayout(model, { diskSizes: match.diskSizes }).filter((f) => f.severity === "error"),
    [],
  );
  assert.deepEqual(diffLive({ model, snap, match }), []);
});

Deno.test("live, drifted machine: type, size, filesystem, mount and an extra partition are listed", () => {
  const model = modelOf(layoutJson("vps_tmpfs_root"));
  const snap = snapshot("vps_drifted_lsblk.json", "vps_drifted_findmnt.json");
  const match = matchLive({ model, snap, resolve: noResolve });
  const drift = liveFindings({ model, snap, match }).map((f) => [f.rule, f.severity, f.path]);
  assert.deepEqual(drift.sort(), [
    ["live-extra-partition", "warning", "disk.sda"],
    ["live-filesystem", "error", `${VPS}.persistent.content`],
    ["live-mountpoint", "error", `${VPS}.persistent.content.mountpoint`],
    ["live-partition-type", "error", `${VPS}.ESP.type`],
    ["live-size", "warning", `${VPS}.nix.size`],
  ]);
  const changes = diffLive({ model, snap, match });
  assert.deepEqual(changes.map((c) => [c.class, c.path]), [
    ["destructive", `${VPS}.ESP.type`],
    ["destructive", `${VPS}.persistent.content.mountpoint`],
    ["not-applied", "disk.sda"],
    ["not-applied", `${VPS}.nix.size`],
    ["not-applied", `${VPS}.persistent.content`],
  ]);
  assert.equal(diffExitCode(changes), EXIT.DESTRUCTIVE);
});

Deno.test("live, disk installed under another name: partlabels missing, diff --live says disko renames them", () => {
  const model = modelOf(layoutJson("vps_tmpfs_root"));
  const snap = snapshot("vps_renamed_lsblk.json", "vps_findmnt.json");
  const match = matchLive({ model, snap, resolve: noResolve });
  const rules = liveFindings({ model, snap, match }).map((f) => f.rule);
  assert.equal(rules.filter((r) => r === "live-partition-missing").length, 3);
  const changes = diffLive({ model, snap, match });
  assert.equal(changes.length, 3);
  assert.ok(changes.every((c) => c.class === "destructive" && /renames it/.test(c.why)));
  // The layout that names the disk "main" (as installed) matches the machine again.
  const fixed = mutated("vps_tmpfs_root", (j) => j.disk.sda.name = "main");
  assert.deepEqual(
    liveFindings({
      model: fixed,
      snap: snap,
      match: matchLive({ model: fixed, snap: snap, resolve: noResolve }),
    }),
    [],
  );
});

Deno.test("live, by-id device path resolved through the resolver", () => {
  const model = mutated(
    "vps_tmpfs_root",
    (j) => j.disk.sda.device = "/dev/disk/by-id/scsi-360000000000000001",
  );
  const snap = snapshot("small_disk_lsblk.json");
  const resolved = matchLive({
    model,
    snap,
    resolve: (d) => d.endsWith("0001") ? "/dev/sda" : null,
  });
  assert.equal(resolved.disks[0].found?.path, "/dev/sda");
  const unresolved = matchLive({ model, snap, resolve: noResolve });
  assert.equal(unresolved.disks[0].found, null);
  assert.deepEqual(
    liveFindings({ model, snap, match: unresolved }).map((f) => f.rule).filter((r) =>
      r === "live-disk-missing"
    ),
    ["live-disk-missing"],
  );
});

Deno.test("live, a 64G disk: the fit rule uses the live size; diff --live: partitions would be created", () => {
  const model = modelOf(layoutJson("vps_tmpfs_root"));
  const snap = snapshot("small_disk_lsblk.json");
  const match = matchLive({ model, snap, resolve: noResolve });
  const fit = checkLayout(model, { diskSizes: match.diskSizes }).find((f) =>
    f.rule === "size-exceeds-disk"
  );
  assert.equal(fit?.path, `${VPS}.nix.size`);
  const changes = diffLive({ model, snap, match });
  assert.deepEqual(changes.map((c) => c.class), ["safe", "safe", "safe"]);
});

Deno.test("live, partitions in another order than disko's: live-partition-index, and diff --live is destructive", () => {
  const model = modelOf(layoutJson("vps_tmpfs_root"));
  const snap = snapshot("vps_lsblk.json", "vps_findmnt.json");
  const [, nix, persistent] = snap.devices.filter((d) => d.type === "part");
  [nix.partlabel, persistent.partlabel] = [persistent.partlabel, nix.partlabel];
  [nix.size, persistent.size] = [persistent.size, nix.size];
  const match = matchLive({ model, snap, resolve: noResolve });
  const findings = liveFindings({ model, snap, match });
  assert.deepEqual(
    findings.filter((f) => f.rule === "live-partition-index").map((f) => f.path),
    [`${VPS}.nix`, `${VPS}.persistent`],
  );
  assert.equal(diffExitCode(diffLive({ model, snap, match })), EXIT.DESTRUCTIVE);
});

Deno.test("every --live rule is produced by one of the recorded machines", () => {
  const model = modelOf(layoutJson("vps_tmpfs_root"));
  const seen = new Set<string>();
  const machines: [string, string | undefined][] = [
    ["vps_drifted_lsblk.json", "vps_drifted_findmnt.json"],
    ["vps_renamed_lsblk.json", "vps_findmnt.json"],
  ];
  for (const [l, fm] of machines) {
    const snap = snapshot(l, fm);
    for (
      const f of liveFindings({
        model,
        snap,
        match: matchLive({ model, snap, resolve: noResolve }),
      })
    ) seen.add(f.rule);
  }
  const byId = mutated("vps_tmpfs_root", (j) => j.disk.sda.device = "/dev/disk/by-id/other");
  const small = snapshot("small_disk_lsblk.json");
  for (
    const f of liveFindings({
      model: byId,
      snap: small,
      match: matchLive({ model: byId, snap: small, resolve: noResolve }),
    })
  ) seen.add(f.rule);
  const snap = snapshot("vps_lsblk.json", "vps_findmnt.json");
  const [, nix, persistent] = snap.devices.filter((d) => d.type === "part");
  [nix.partlabel, persistent.partlabel] = [persistent.partlabel, nix.partlabel];
  for (
    const f of liveFindings({ model, snap, match: matchLive({ model, snap, resolve: noResolve }) })
  ) seen.add(f.rule);
  const live = Object.keys(RULES).filter((r) => r.startsWith("live-"));
  assert.deepEqual(live.filter((r) => !seen.has(r)), []);
});

Deno.test("diff --live: a persistent / that the layout makes a tmpfs is destructive", () => {
  const model = modelOf(layoutJson("vps_tmpfs_root"));
  const snap = snapshot("vps_lsblk.json", "vps_findmnt.json");
  const root = snap.mounts.find((m) => m.target === "/")!;
  Object.assign(root, { fstype: "ext4", source: "/dev/sda3" });
  const changes = diffLive({ model, snap, match: matchLive({ model, snap, resolve: noResolve }) });
  assert.deepEqual(changes.map((c) => [c.class, c.path, c.change]), [
    ["destructive", "nodev./", "/: ext4 → tmpfs"],
  ]);
});
