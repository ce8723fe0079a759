import assert from "node:assert/strict";
import {
  type AppVersion,
  compareAppVersions,
  parseAppVersion,
} from "../../lib/core/app_version.ts";
import { decideUpgrade } from "../../lib/upgrade/plan.ts";
import { choosePrunable } from "../../lib/release/image_retention.ts";
import { LocalImages } from "../../lib/release/local_images.ts";
import { versionFromTags } from "../../lib/release/live.ts";
import { buildStatus } from "../../lib/job/status_file.ts";

const v = (s: string) => parseAppVersion(s)!;

Deno.test("versions: X.Y.Z with optional v and -pre; everything else refused", () => {
  for (const ok of ["0.10.4", "v0.10.4", "1.0.0-rc.1", "10.20.30-beta"]) {
    assert.ok(parseAppVersion(ok), ok);
  }
  for (
    const bad of [
      "",
      "1.2",
      "1.2.3.4",
      "01.2.3",
      "1.2.3;id",
      "$(id)",
      "1.2.3 x",
      "latest",
      "v",
      "1.2.3-",
      "x".repeat(80),
    ]
  ) {
    assert.equal(parseAppVersion(bad), null, bad);
  }
  const sorted = ["1.0.0", "0.10.4", "0.9.9", "1.0.0-rc.1", "1.0.0-rc.10", "1.0.0-rc.2"].map(v)
    .sort(compareAppVersions);
  assert.deepEqual(sorted, ["0.9.9", "0.10.4", "1.0.0-rc.1", "1.0.0-rc.2", "1.0.0-rc.10", "1.0.0"]);
});

const current = {
  backend: { version: "0.3.0", imageId: "b3" },
  frontend: { version: "0.3.0", imageId: "f3" },
};

Deno.test("decide: downgrade refused unless allowed; same images a no-op; else upgrade", () => {
  const target = { backend: v("0.2.0"), frontend: v("0.3.0") };
  const none = { backend: null, frontend: null };
  assert.equal(
    decideUpgrade({ current, target, localTargetIds: none, allowDowngrade: false }).kind,
    "refuse-downgrade",
  );
  assert.equal(
    decideUpgrade({ current, target, localTargetIds: none, allowDowngrade: true }).kind,
    "upgrade",
  );
  const same = { backend: v("0.3.0"), frontend: v("0.3.0") };
  assert.equal(
    decideUpgrade({
      current,
      target: same,
      localTargetIds: { backend: "b3", frontend: "f3" },
      allowDowngrade: false,
    })
      .kind,
    "noop",
  );
  // same version but the tag now points at another image (re-pushed): not a no-op
  assert.equal(
    decideUpgrade({
      current,
      target: same,
      localTargetIds: { backend: "b3x", frontend: "f3" },
      allowDowngrade: false,
    })
      .kind,
    "upgrade",
  );
  const unknown = {
    backend: { version: null, imageId: null },
    frontend: { version: null, imageId: null },
  };
  assert.equal(
    decideUpgrade({ current: unknown, target: same, localTargetIds: none, allowDowngrade: false })
      .kind,
    "upgrade",
  );
});

Deno.test("prune: protected and the newest N others are kept", () => {
  const img = (id: string, ...vs: string[]) => ({
    id,
    versions: vs.map(v) as AppVersion[],
    names: vs.map((x) => `r:v${x}`),
  });
  const images = [
    img("a", "0.1.0"),
    img("b", "0.2.0"),
    img("c", "0.3.0"),
    img("d", "0.4.0"),
    img("e"),
    img("f", "0.5.0"),
  ];
  const pruned = choosePrunable(images, { protect: new Set(["f", "d"]), keep: 1 });
  assert.deepEqual(pruned.map((i) => i.id), ["b", "a"]);
  assert.deepEqual(choosePrunable(images, { protect: new Set(), keep: 10 }), []);
});

Deno.test("versions from tags: only the configured repository's vX.Y.Z tags, highest wins", () => {
  const tags = [
    "ghcr.io/x/backend:current",
    "ghcr.io/x/backend:v0.2.0",
    "ghcr.io/x/backend:v0.10.0",
    "other/img:v9.9.9",
  ];
  assert.equal(versionFromTags(tags, "ghcr.io/x/backend"), "0.10.0");
  assert.equal(versionFromTags(["ghcr.io/x/backend:latest"], "ghcr.io/x/backend"), null);
});

Deno.test("local images: one listing answers ref → ID and ID → names (podman 4's row per tag merged)", () => {
  const images = new LocalImages([
    { Id: "a".repeat(64), Names: ["127.0.0.1:5000/grapheon-backend:v0.2.0"] },
    {
      Id: "a".repeat(64),
      Names: ["127.0.0.1:5000/grapheon-backend:current", "127.0.0.1:5000/grapheon-backend:v0.2.0"],
    },
    { Id: "b".repeat(64), Names: ["docker.io/library/nginx:1.27"] },
    { Id: "c".repeat(64), Names: null },
  ]);
  assert.deepEqual(images.namesOf("a".repeat(64)), [
    "127.0.0.1:5000/grapheon-backend:v0.2.0",
    "127.0.0.1:5000/grapheon-backend:current",
  ]);
  assert.deepEqual(images.ids(), ["a".repeat(64), "b".repeat(64), "c".repeat(64)]);
  assert.equal(images.idOf("127.0.0.1:5000/grapheon-backend:current"), "a".repeat(64));
  assert.equal(images.idOf("127.0.0.1:5000/grapheon-backend:v0.2.0"), "a".repeat(64));
  assert.equal(
    versionFromTags(images.namesOf("a".repeat(64)), "127.0.0.1:5000/grapheon-backend"),
    "0.2.0",
  );
  // Docker Hub names are listed with their implied prefixes.
  assert.equal(images.idOf("nginx:1.27"), "b".repeat(64));
  assert.equal(images.idOf("docker.io/nginx:1.27"), "b".repeat(64));
  // A tag is not a prefix match, nor another repository's tag.
  assert.equal(images.idOf("127.0.0.1:5000/grapheon-backend:v0.2"), null);
  assert.equal(images.idOf("127.0.0.1:5000/grapheon-frontend:v0.2.0"), null);
  assert.deepEqual(images.namesOf("c".repeat(64)), []);
  assert.deepEqual(images.namesOf("d".repeat(64)), []);
});

Deno.test("status document: progress follows the step, 100 when completed, UTC Z time", () => {
  const now = new Date("2026-01-02T03:04:05.678Z");
  const running = buildStatus(
    { status: "running", step: 3, message: "Pulling frontend container" },
    now,
  );
  assert.deepEqual(
    { ...running },
    {
      status: "running",
      message: "Pulling frontend container",
      step: 3,
      total_steps: 5,
      progress: 60,
      updated_at: "2026-01-02T03:04:05.678Z",
    },
  );
  assert.equal(buildStatus({ status: "completed", step: 5, message: "done" }, now).progress, 100);
  const quoted = buildStatus(
    { status: "failed", step: 4, message: 'it said "no" \\ then quit' },
    now,
  );
  assert.equal(JSON.parse(JSON.stringify(quoted)).message, 'it said "no" \\ then quit');
});

Deno.test("decide: an image whose version cannot be told is not silently downgraded", () => {
  const unknownVersion = {
    backend: { version: null, imageId: "b?" },
    frontend: { version: null, imageId: "f?" },
  };
  const target = { backend: v("0.3.0"), frontend: v("0.3.0") };
  const none = { backend: null, frontend: null };
  const d = decideUpgrade({
    current: unknownVersion,
    target,
    localTargetIds: none,
    allowDowngrade: false,
  });
  assert.equal(d.kind, "refuse-downgrade");
  assert.equal(
    decideUpgrade({ current: unknownVersion, target, localTargetIds: none, allowDowngrade: true })
      .kind,
    "upgrade",
  );
});
