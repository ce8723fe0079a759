/**
 * No stub may say what nixpkgs does not: tests/nix/nixpkgs_stubs.json lists
 * every package-set attribute, NixOS option and nixpkgs-flake output the tests
 * stand in for, with the nixpkgs file that declares it. These tests fail when
 * nix/*.nix or flake.nix read something that list does not hold, when the
 * stand-ins hold something it does not list (or miss something it does), and
 * show on the package.nix of issue 17 (`deno.denort`) that both the reading and
 * the evaluation catch it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  callPackaged,
  codeOnly,
  type Reference,
  references,
  type StubList,
  unlisted,
} from "./stub_audit.ts";
import { nixEval, nixTest, REPO, withTemp } from "./nix_eval.ts";

const list = JSON.parse(
  await Deno.readTextFile(join(REPO, "tests/nix/nixpkgs_stubs.json")),
) as StubList;

/** flake.nix and nix/*.nix, with their text. */
async function projectNixFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  files.set("flake.nix", await Deno.readTextFile(join(REPO, "flake.nix")));
  for await (const e of Deno.readDir(join(REPO, "nix"))) {
    if (e.isFile && e.name.endsWith(".nix")) {
      files.set(`nix/${e.name}`, await Deno.readTextFile(join(REPO, "nix", e.name)));
    }
  }
  return files;
}

/** Every reference of the project's Nix files (callPackage'd ones read with their formals). */
function projectReferences(files: Map<string, string>): Reference[] {
  const called = new Set(
    callPackaged(codeOnly(files.get("flake.nix")!)).map((p) => p.replace(/^\.\//, "")),
  );
  return [...files].flatMap(([file, text]) =>
    references(file, text, { callPackaged: called.has(file) })
  );
}

/** nix/package.nix as it was when issue 17 was filed: DENORT_BIN from `deno.denort`. */
function packageWithDenoDenort(): Promise<string> {
  return Deno.readTextFile(join(REPO, "tests/nix/fixtures/package_issue17.nix"));
}

Deno.test("stub audit: every nixpkgs attribute, option and flake output the Nix files read is listed", async () => {
  const files = await projectNixFiles();
  const refs = projectReferences(files);
  assert.deepEqual(unlisted(list, refs), []);
  // The reading finds what the files use (so the empty list above is not an empty reading).
  const seen = new Set(refs.map((r) => `${r.section} ${r.path}`));
  for (
    const expected of [
      "pkgs deno",
      "pkgs denort",
      "pkgs denort.version",
      "pkgs deno.version",
      "pkgs stdenvNoCC.mkDerivation",
      "pkgs formats.json",
      "pkgs runCommand",
      "pkgs mkShell",
      "options virtualisation.podman.package",
      "options systemd.package",
      "options nix.package",
      "options system.build.toplevel",
      "flake lib.nixosSystem",
      "flake legacyPackages",
    ]
  ) {
    assert.ok(seen.has(expected), `${expected} is read (found: ${[...seen].join(", ")})`);
  }
});

Deno.test("stub audit: issue 17's deno.denort is not in nixpkgs, and the audit says where it is read", async () => {
  const old = await packageWithDenoDenort();
  const refs = references("nix/package.nix", old, { callPackaged: true });
  const bad = unlisted(list, refs);
  assert.equal(bad.length, 1, bad.join("\n"));
  assert.match(bad[0], /^nix\/package\.nix:\d+: pkgs deno\.denort$/);
  const line = Number(bad[0].split(":")[1]);
  assert.match(old.split("\n")[line - 1], /deno\.denort/);
});

Deno.test("stub audit: what it refuses (unlisted packages and options, `with pkgs;`), what it ignores", () => {
  const read = (text: string, callPackage = false) =>
    unlisted(list, references("t.nix", text, { callPackaged: callPackage }));
  assert.deepEqual(read("{ pkgs, ... }: { x = pkgs.hello; y = pkgs.coreutils; }"), [
    "t.nix:1: pkgs hello",
  ]);
  assert.deepEqual(read("{ config, ... }: { x = config.services.nginx.enable; }"), [
    "t.nix:1: options services.nginx.enable",
  ]);
  assert.deepEqual(read("{ pkgs, ... }: with pkgs; { x = hello; }"), ["t.nix:1: pkgs with pkgs"]);
  assert.deepEqual(read("{ pkgs, ... }: { inherit (pkgs) podman hello; }"), [
    "t.nix:1: pkgs hello",
  ]);
  // A callPackage'd file's formals are package-set attributes.
  assert.deepEqual(read("{ lib, jq }: lib.getExe jq", true), ["t.nix:1: pkgs jq"]);
  // Not references: strings, comments, paths, option definitions, other names.
  assert.deepEqual(
    read(
      [
        "{ pkgs, ... }: {",
        "  # pkgs.hello in a comment",
        '  a = "pkgs.hello in a string ${pkgs.coreutils}";',
        "  b = ''pkgs.hello ''${pkgs.hello} ${pkgs.runtimeShell}'';",
        "  nixpkgs.hostPlatform = pkgs.stdenv.hostPlatform.system;",
        "  d = cfg.pkgs.hello;",
        "}",
      ].join("\n"),
    ),
    [],
  );
  assert.deepEqual(
    read(
      "{ lib, deno }: { b = ''cp deno.lock $out''; c = ../deno.lock; d = \"${deno}/bin\"; }",
      true,
    ),
    [],
  );
  assert.deepEqual(read('{ pkgs }: "${pkgs.stdenv.hostPlatform.isLinux} ${pkgs.hello.meta}"'), [
    "t.nix:1: pkgs hello.meta",
  ]);
});

nixTest(
  "stub audit: the stand-ins hold exactly what the list holds (pkgs, options, flake)",
  async () => {
    const held = await nixEval(["tests/nix/stub_inventory.nix"]) as Record<
      "pkgs" | "options" | "flake",
      string[]
    >;
    for (const section of ["pkgs", "options", "flake"] as const) {
      assert.deepEqual(
        [...held[section]].sort(),
        Object.keys(list[section]).sort(),
        `${section}: tests/nix stand-ins vs tests/nix/nixpkgs_stubs.json`,
      );
      for (const [path, entry] of Object.entries(list[section])) {
        assert.match(
          entry.in,
          /^(pkgs|nixos|flake\.nix)[/ .]/,
          `${section} ${path}: names its nixpkgs file`,
        );
      }
    }
  },
);

nixTest(
  "stub audit: evaluating issue 17's package.nix fails as nixpkgs would (attribute 'denort' missing)",
  async () => {
    await withTemp(async (dir) => {
      // What package.nix reads at evaluation: the compile spec and deno.json, beside it.
      await Deno.mkdir(join(dir, "nix"));
      await Deno.mkdir(join(dir, "scripts"));
      await Deno.copyFile(
        join(REPO, "scripts/compile_spec.json"),
        join(dir, "scripts/compile_spec.json"),
      );
      await Deno.copyFile(join(REPO, "deno.json"), join(dir, "deno.json"));
      const file = join(dir, "nix/package.nix");
      await Deno.writeTextFile(file, await packageWithDenoDenort());
      await assert.rejects(
        nixEval([
          "tests/nix/eval_flake.nix",
          "--arg",
          "packageFile",
          file,
          "-A",
          "package.buildPhase",
        ]),
        /error: attribute 'denort' missing/,
      );
      // Today's package.nix in the same place evaluates: the failure is the attribute, nothing else.
      await Deno.writeTextFile(file, await Deno.readTextFile(join(REPO, "nix/package.nix")));
      const phase = await nixEval([
        "tests/nix/eval_flake.nix",
        "--arg",
        "packageFile",
        file,
        "-A",
        "package.buildPhase",
      ]);
      assert.match(String(phase), /export DENORT_BIN=\/nix\/store\/\S+-denort-[\d.]+\/bin\/denort/);
    });
  },
);
