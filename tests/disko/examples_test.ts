/**
 * disko's 38 example layouts (../shared/disko/example) through disko's own
 * evaluation: each example's findings are the ones fixtures/disko_examples.json
 * lists with a one-line justification, and no example that installs and boots
 * as written has an error. Then the tool's copy of disko's defaults, used when
 * disko is not there, is measured against disko itself: the same examples
 * evaluated by plain Nix give the same partition labels, priorities, numbers,
 * type codes, devices, disk names and LV order.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkLayout } from "../../lib/disko/check.ts";
import { type LoadedLayout, loadLayout } from "../../lib/disko/load.ts";
import { FIXTURES } from "./fixtures.ts";
import {
  DISKO_EXAMPLES,
  diskoOptions,
  HAVE_SHARED,
  nixOptions,
  NIXPKGS_LIB,
  nixTest,
} from "./nix_env.ts";

const FILE = "tests/disko/examples_test.ts";

interface Verdict {
  verdict: "clean" | "warning" | "error";
  why: string;
  findings: string[];
}

const fixture = JSON.parse(
  await Deno.readTextFile(join(FIXTURES, "disko_examples.json")),
) as { examples: Record<string, Verdict> };

const names = HAVE_SHARED
  ? [...Deno.readDirSync(DISKO_EXAMPLES)].filter((e) => e.isFile && e.name.endsWith(".nix"))
    .map((e) => e.name).sort()
  : [];

const viaDisko = new Map<string, Promise<LoadedLayout>>();
function evaluated(name: string): Promise<LoadedLayout> {
  if (!viaDisko.has(name)) {
    const path = join(DISKO_EXAMPLES, name);
    viaDisko.set(name, loadLayout({ kind: "file", path }, { nix: diskoOptions() }));
  }
  return viaDisko.get(name)!;
}

function verdictOf(findings: string[]): Verdict["verdict"] {
  if (findings.some((f) => f.startsWith("error "))) return "error";
  return findings.some((f) => f.startsWith("warning ")) ? "warning" : "clean";
}

nixTest(
  "examples: the fixture has a verdict for each of disko's 38 examples, and only those",
  () => {
    assert.equal(names.length, 38);
    assert.deepEqual(Object.keys(fixture.examples).sort(), names);
    for (const v of Object.values(fixture.examples)) {
      assert.ok(v.why.length > 20 && !v.why.includes("\n"), v.why);
      assert.equal(v.verdict, verdictOf(v.findings));
    }
    return Promise.resolve();
  },
  { file: FILE, shared: true },
);

for (const name of names) {
  nixTest(`example ${name}: through disko, the findings the fixture lists`, async () => {
    const layout = await evaluated(name);
    assert.deepEqual(layout.evaluation, { by: "disko", via: "nix-file", diskoVersion: "1.13.0" });
    const findings = checkLayout(layout.model).map((f) => `${f.severity} ${f.rule} ${f.path}`);
    assert.deepEqual(findings, fixture.examples[name]?.findings);
  }, { file: FILE, shared: true });
}

nixTest(
  "examples: 8 clean, 29 with warnings, only negative-size.nix (does not boot) with an error",
  () => {
    const by = Object.groupBy(Object.entries(fixture.examples), ([, v]) => v.verdict);
    assert.equal(by.clean?.length, 8);
    assert.equal(by.warning?.length, 29);
    assert.deepEqual(by.error?.map(([n]) => n), ["negative-size.nix"]);
    assert.deepEqual(fixture.examples["negative-size.nix"].findings, [
      "error boot-missing disk.disk0",
    ]);
    return Promise.resolve();
  },
  { file: FILE, shared: true },
);

/** What the defaults decide, per partition and per LV. */
function defaultsOf(layout: LoadedLayout): unknown {
  return {
    disks: layout.model.disks.map((d) => ({
      key: d.key,
      name: d.name,
      device: d.device,
      partitions: d.partitions.map((p) => [p.key, p.index, p.priority, p.label, p.type, p.device]),
    })),
    lvs: layout.model.lvs.map((l) => [l.vg, l.key, l.index, l.priority]),
    mounts: layout.model.mounts.map((m) => [m.mountpoint, m.fsType, m.partitionLabel ?? null])
      .sort(),
  };
}

nixTest(
  "examples: without disko, the tool's defaults agree with disko's on every example",
  async () => {
    const plain = nixOptions({ nixpkgsLib: NIXPKGS_LIB });
    const disagree: string[] = [];
    for (const name of names) {
      const path = join(DISKO_EXAMPLES, name);
      const asWritten = await loadLayout({ kind: "file", path }, { nix: plain });
      assert.equal(asWritten.evaluation.by, "nix", name);
      const a = JSON.stringify(defaultsOf(asWritten));
      const b = JSON.stringify(defaultsOf(await evaluated(name)));
      if (a !== b) disagree.push(`${name}:\n  tool  ${a}\n  disko ${b}`);
    }
    assert.deepEqual(disagree, []);
  },
  { file: FILE, shared: true },
);
