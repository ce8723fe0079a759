/**
 * The project's own corpus through disko's evaluation (../shared/disko with
 * ../shared/nixpkgs-lib): disko's defaults reach the model, its type errors
 * become the finding disko-eval, `<disko>` on the search path is found, and the
 * layout document `disko eval` prints reads back as evaluated by disko. Two
 * layouts evaluated by disko diff to the one change made, not to the fields
 * disko derives from it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkLayout } from "../../lib/disko/check.ts";
import { diffLayouts } from "../../lib/disko/diff.ts";
import { loadLayout } from "../../lib/disko/load.ts";
import { DiskoEvalError, evalDiskoNix } from "../../lib/disko/nix_eval.ts";
import { runCli } from "../util/cli.ts";
import { CORPUS, FIXTURES, layoutJson, modelOf } from "./fixtures.ts";
import {
  DISKO_DIR,
  diskoOptions,
  nixOptions,
  NIXPKGS_LIB,
  nixTest,
  SHARED,
  withFiles,
} from "./nix_env.ts";

const FILE = "tests/disko/disko_eval_test.ts";
const opts = { file: FILE, shared: true };
const file = (path: string) => ({ kind: "file" as const, path });
const DISKO_FLAGS = ["--disko", DISKO_DIR, "--nixpkgs-lib", NIXPKGS_LIB];

for (const name of CORPUS) {
  nixTest(
    `${name}.nix through disko: disko's defaults, the same checks as the JSON`,
    async () => {
      const layout = await loadLayout(file(join(FIXTURES, `${name}.nix`)), { nix: diskoOptions() });
      assert.equal(layout.evaluation.by, "disko");
      const asWritten = modelOf(layoutJson(name));
      const parts = (m: typeof asWritten) =>
        m.disks.flatMap((d) => d.partitions.map((p) => [p.label, p.index, p.priority, p.type]));
      assert.deepEqual(parts(layout.model), parts(asWritten));
      // disko writes every partition's _index: the numbers are disko's own.
      const raw = layout.raw as { disk: Record<string, { content: { partitions?: object } }> };
      for (const d of Object.values(raw.disk)) {
        for (const p of Object.values(d.content.partitions ?? {})) assert.ok("_index" in p);
      }
      const rules = (fs: { rule: string; severity: string }[]) =>
        fs.map((f) => `${f.severity} ${f.rule}`).sort();
      assert.deepEqual(rules(checkLayout(layout.model)), rules(checkLayout(asWritten)));
      assert.deepEqual(diffLayouts(layout.model, layout.model), []);
    },
    opts,
  );
}

nixTest(
  "diff of two layouts evaluated by disko: the change made, not what disko derives from it",
  async () => {
    const base = join(FIXTURES, "vps_tmpfs_root.nix");
    const variant = (body: string) =>
      `{ lib, ... }: { imports = [ ${
        JSON.stringify(base)
      } ]; disko.devices.disk.sda.content.partitions = ${body}; }`;
    await withFiles({
      "bigger.nix": variant(`{ nix.size = lib.mkForce "100G"; }`),
      "renamed.nix": variant(`{ nix.name = "store"; }`),
      "noatime.nix": variant(`{ nix.content.mountOptions = [ "noatime" ]; }`),
    }, async (dir) => {
      const old = await loadLayout(file(base), { nix: diskoOptions() });
      const P = "disk.sda.content.partitions.nix";
      const expected: Record<string, [string, string, string][]> = {
        // disko derives end "+100G" from the size: one change, not two.
        "bigger.nix": [["not-applied", `${P}.size`, '"80G" → "100G"']],
        // The label and the device paths follow the name: the label is what matters.
        "renamed.nix": [[
          "destructive",
          `${P}.label`,
          'partlabel "disk-sda-nix" → "disk-sda-store"',
        ]],
        "noatime.nix": [["safe", `${P}.content.mountOptions`, '["defaults"] → ["noatime"]']],
      };
      for (const [name, changes] of Object.entries(expected)) {
        const next = await loadLayout(file(join(dir, name)), { nix: diskoOptions() });
        const got = diffLayouts(old.model, next.model).map((c) => [c.class, c.path, c.change]);
        assert.deepEqual(got, changes, name);
      }
    });
  },
  opts,
);

nixTest(
  "disko's type errors are DiskoEvalErrors naming the option; check reports disko-eval, exit 1",
  async () => {
    const bad = {
      "size.nix":
        `{ disko.devices.disk.main = { device = "/dev/sda"; type = "disk"; content = { type = "gpt"; partitions.ESP = { size = "512MB"; type = "EF00"; }; }; }; }`,
      "typo.nix":
        `{ disko.devices.disk.main = { device = "/dev/sda"; type = "disk"; content = { type = "gpt"; partitions.ESP = { size = "512M"; tpye = "EF00"; }; }; }; }`,
      "relative.nix":
        `{ disko.devices.disk.main = { device = "/dev/sda"; content = { type = "filesystem"; format = "ext4"; mountpoint = "srv"; }; }; }`,
    };
    await withFiles(bad, async (dir) => {
      const expected: Record<string, [string, RegExp]> = {
        "size.nix": ["disk.main.content.partitions.ESP.size", /is not of type .*"512MB"/],
        "typo.nix": ["disk.main.content.partitions.ESP.tpye", /does not exist/],
        "relative.nix": ["disk.main.content.mountpoint", /absolute path.*"srv"/],
      };
      for (const [name, [option, message]] of Object.entries(expected)) {
        await assert.rejects(
          evalDiskoNix(join(dir, name), diskoOptions()),
          (e) => e instanceof DiskoEvalError && e.option === option && message.test(e.detail),
        );
      }
      const r = await runCli(["disko", "check", join(dir, "size.nix"), "--json", ...DISKO_FLAGS]);
      assert.equal(r.code, 1, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.deepEqual(
        doc.findings.map((f: { rule: string; path: string }) => [f.rule, f.path]),
        [["disko-eval", "disk.main.content.partitions.ESP.size"]],
      );
      const d = await runCli([
        "disko",
        "diff",
        join(dir, "size.nix"),
        join(dir, "size.nix"),
        ...DISKO_FLAGS,
      ]);
      assert.equal(d.code, 4);
      assert.match(d.stderr, /size\.nix: disko rejects the layout: A definition for option/);
    });
  },
  opts,
);

nixTest(
  "<disko> and <nixpkgs> on the Nix search path are used; without disko it says so",
  async () => {
    const path = join(FIXTURES, "simple_efi.nix");
    const found = await evalDiskoNix(
      path,
      nixOptions({ nixPath: [`disko=${DISKO_DIR}`, `nixpkgs=${join(SHARED, "nixpkgs-lib")}`] }),
    );
    assert.equal(found.evaluatedBy, "disko");
    assert.equal(found.diskoVersion, "1.13.0");
    const text = await runCli(["disko", "check", path, ...DISKO_FLAGS]);
    assert.match(text.stdout, /evaluated by disko 1\.13\.0: its own types and defaults/);
    const plain = await runCli(["disko", "check", path], { env: { NIX_PATH: "" } });
    assert.match(
      plain.stdout,
      /evaluated by Nix without disko: disko's defaults filled in by grapheon-tool/,
    );
    const json = await runCli(["disko", "check", path, "--json"], { env: { NIX_PATH: "" } });
    assert.deepEqual(JSON.parse(json.stdout).evaluation, {
      by: "nix",
      via: "nix-file",
      diskoVersion: null,
    });
  },
  opts,
);

nixTest(
  "--disko and $GRAPHEON_DISKO must name a disko checkout (exit 2 naming the flag)",
  async () => {
    const path = join(FIXTURES, "simple_efi.nix");
    const flag = await runCli(["disko", "check", path, "--disko", FIXTURES]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--disko .*: not a disko checkout/);
    const env = await runCli(["disko", "check", path], { env: { GRAPHEON_DISKO: FIXTURES } });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /\$GRAPHEON_DISKO .*: not a disko checkout/);
    const viaEnv = await runCli(["disko", "check", path], {
      env: { GRAPHEON_DISKO: DISKO_DIR, GRAPHEON_NIXPKGS_LIB: join(SHARED, "nixpkgs-lib") },
    });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.match(viaEnv.stdout, /evaluated by disko/);
  },
  opts,
);

nixTest(
  "disko eval prints the layout document; it reads back as evaluated by disko, same findings",
  async () => {
    const path = join(FIXTURES, "vps_tmpfs_root.nix");
    const printed = await runCli(["disko", "eval", path, ...DISKO_FLAGS]);
    assert.equal(printed.code, 0, printed.stderr);
    const doc = JSON.parse(printed.stdout);
    assert.equal(doc.evaluatedBy, "disko");
    assert.equal(doc.disko.devices.disk.sda.content.partitions.nix.label, "disk-sda-nix");
    await withFiles({ "disko.json": printed.stdout }, async (dir) => {
      const back = await runCli(["disko", "check", join(dir, "disko.json"), "--json"]);
      const direct = await runCli(["disko", "check", path, "--json", ...DISKO_FLAGS]);
      const a = JSON.parse(back.stdout);
      const b = JSON.parse(direct.stdout);
      assert.deepEqual(a.evaluation, { by: "disko", via: "document", diskoVersion: "1.13.0" });
      assert.deepEqual(a.findings, b.findings);
    });
    const json = await runCli(["disko", "eval", join(FIXTURES, "vps_tmpfs_root.json")]);
    assert.equal(json.code, 4);
    assert.match(json.stderr, /is plain JSON, not evaluated by Nix or disko/);
  },
  opts,
);

nixTest(
  "a disko.nix that also sets other NixOS options (fileSystems.…neededForBoot) evaluates",
  async () => {
    const text = (await Deno.readTextFile(join(FIXTURES, "vps_tmpfs_root.nix"))).replace(
      /\}\s*$/,
      '  fileSystems."/persistent".neededForBoot = true;\n}\n',
    );
    await withFiles({ "disko.nix": text }, async (dir) => {
      const layout = await loadLayout(file(join(dir, "disko.nix")), { nix: diskoOptions() });
      assert.equal(layout.evaluation.by, "disko");
      assert.deepEqual(layout.model.mounts.map((m) => m.mountpoint).sort(), [
        "/",
        "/boot",
        "/nix",
        "/persistent",
      ]);
    });
  },
  opts,
);
