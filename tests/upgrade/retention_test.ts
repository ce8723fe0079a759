/** Which release images stay: podman's one-row-per-tag listing merged, old ones pruned once, previous kept. */
import assert from "node:assert/strict";
import { defaultConfig } from "../../lib/config/config.ts";
import { systemClock } from "../../lib/host/clock.ts";
import type { Runner } from "../../lib/host/exec.ts";
import type { Host } from "../../lib/host/host.ts";
import { localReleaseImages } from "../../lib/release/image_retention.ts";
import { recordingLogger } from "../../lib/cli/log.ts";
import { Podman } from "../../lib/host/podman.ts";
import { Systemd } from "../../lib/host/systemd.ts";
import { Bridge } from "../../lib/host/bridge.ts";
import { Harness } from "../harness/harness.ts";

Deno.test("retention: an image listed once per tag is one image with all its names", async () => {
  const config = defaultConfig();
  const img = config.backend.image;
  const rows = [
    { Id: "aaa", Names: [`${img}:v0.2.0`, `${img}:current`], Created: 1 },
    { Id: "aaa", Names: [`${img}:v0.2.0`, `${img}:current`], Created: 1 },
    { Id: "bbb", Names: [`${img}:v0.3.0`, "other/repo:v9.9.9"], Created: 2 },
  ];
  const runner: Runner = () =>
    Promise.resolve({ code: 0, stdout: JSON.stringify(rows), stderr: "" });
  const host: Host = {
    config,
    log: recordingLogger(),
    clock: systemClock,
    run: runner,
    http: () => Promise.reject(new Error("no http")),
    podman: new Podman(runner),
    systemd: new Systemd(runner),
    bridge: new Bridge(runner),
  };
  const images = await localReleaseImages(host, "backend");
  assert.deepEqual(images.map((i) => i.id), ["aaa", "bbb"]);
  assert.deepEqual(images[0].names.sort(), [`${img}:current`, `${img}:v0.2.0`]);
  assert.deepEqual(images[1].versions, ["0.3.0"]);
});

Deno.test("retention: after upgrades, old releases are pruned once; running and previous stay", async () => {
  await using h = await Harness.create({ configOverrides: { images: { keep: 0 } } });
  for (const v of ["0.3.0", "0.3.5"]) {
    const r = await h.runTool(["upgrade", "--version", v, "--no-canary"]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /cannot remove old image/);
  }
  assert.equal(h.localImage(h.ref("backend", "0.2.0")), null, "0.2.0 pruned");
  assert.ok(h.localImage(h.ref("backend", "0.3.0")), "previous kept");
  assert.ok(h.localImage(h.ref("backend", "0.3.5")), "running kept");
  const removals = h.calls("podman", "rmi").map((c) => c.argv.join(" "));
  assert.equal(
    new Set(removals).size,
    removals.length,
    `each name removed once: ${removals.join("; ")}`,
  );
});
