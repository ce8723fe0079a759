/**
 * flake.nix and nix/package.nix evaluated against the stand-in for the nixpkgs
 * flake (tests/nix/eval_flake.nix: nixpkgs' real lib, the stubs listed in
 * tests/nix/nixpkgs_stubs.json): the flake's outputs, what the package
 * derivation is given (denort as its own package, checked against deno's
 * version; the compile flags; the dependency cache with its deno.lock, and the
 * build's comparison of the two, run here as the shell it is).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { run } from "../../lib/host/exec.ts";
import { compileArgs } from "../../scripts/compile.ts";
import spec from "../../scripts/compile_spec.json" with { type: "json" };
import { nixEval, nixTest, REPO, withTemp } from "./nix_eval.ts";

interface FlakeEval {
  outputs: string[];
  systems: string[];
  packages: string[];
  checks: string[];
  devShellPackages: string[];
  overlayPackage: string;
  moduleImports: string[];
  modulePackage: string;
  checkModule: string;
  package: {
    pname: string;
    version: string;
    dontStrip: boolean;
    dontPatchELF: boolean;
    buildPhase: string;
    installPhase: string;
    meta: { mainProgram: string; platforms: string[] };
    denort: string;
    depsHash: string;
    depsMode: string;
    depsBuild: string;
    depsInstall: string;
    depsPath: string;
  };
}

const flake = () => nixEval(["tests/nix/eval_flake.nix"]) as Promise<FlakeEval>;

nixTest("flake outputs: systems, packages, overlay, module, checks, dev shell", async () => {
  const f = await flake();
  assert.deepEqual(f.outputs, ["checks", "devShells", "nixosModules", "overlays", "packages"]);
  assert.deepEqual(f.systems, ["aarch64-linux", "x86_64-linux"]);
  assert.deepEqual(f.packages, ["default", "grapheon-tool"]);
  assert.deepEqual(f.checks, ["module", "package"]);
  assert.deepEqual(f.devShellPackages, ["deno", "nix", "systemd"]);
  assert.equal(f.overlayPackage, "grapheon-tool");
  assert.ok(f.moduleImports[0].endsWith("/nix/module.nix"));
  assert.match(f.modulePackage, /-grapheon-tool-0\.1\.0$/);
  // checks.<system>.module: the flake's own check configuration, evaluated with
  // nixpkgs' lib.evalModules and the NixOS option declarations.
  assert.match(f.checkModule, /^\/nix\/store\/\S+-nixos-system$/);
});

nixTest("package.nix: compile flags, denort as its own package, no stripping", async () => {
  const p = (await flake()).package;
  assert.equal(p.version, JSON.parse(await Deno.readTextFile(join(REPO, "deno.json"))).version);
  assert.equal(p.dontStrip, true);
  assert.equal(p.dontPatchELF, true);
  assert.deepEqual(p.meta.platforms, ["aarch64-linux", "x86_64-linux"]);
  assert.equal(p.meta.mainProgram, "grapheon-tool");
  assert.equal(p.depsMode, "recursive");
  assert.match(p.depsBuild, /deno install --frozen --entrypoint main\.ts/);
  // nixpkgs' top-level denort (its meta.mainProgram), of deno's version.
  assert.match(p.denort, /^denort-[\d.]+$/);
  assert.match(p.buildPhase, /export DENORT_BIN=\/nix\/store\/\S+-denort-[\d.]+\/bin\/denort$/m);
  assert.match(
    p.buildPhase,
    /deno compile --cached-only --frozen --target aarch64-unknown-linux-gnu/,
  );
  for (const flag of compileArgs("aarch64-linux").filter((a) => a.startsWith("--allow"))) {
    assert.ok(p.buildPhase.includes(`'${flag}'`) || p.buildPhase.includes(` ${flag} `), flag);
  }
  assert.ok(p.buildPhase.includes(`--include ${spec.include[0]}`));
  assert.match(p.installPhase, /install -Dm755 grapheon-tool "\$out\/bin\/grapheon-tool"/);
});

nixTest(
  "package.nix: a denort of another version than deno stops evaluation, saying why",
  async () => {
    await assert.rejects(
      nixEval([
        "tests/nix/eval_flake.nix",
        "--argstr",
        "denortVersion",
        "2.1.0",
        "-A",
        "package.pname",
      ]),
      /nix\/package\.nix: denort 2\.1\.0 does not match deno [\d.]+; deno compile embeds the program in a runtime of its own version/,
    );
  },
);

nixTest(
  "the dependency cache carries its deno.lock; the build refuses a changed deno.lock",
  async () => {
    const p = (await flake()).package;
    assert.match(p.depsInstall, /^cp deno\.lock "\$out\/deno\.lock"$/m);
    // The build's check, as the shell it is: from the start of buildPhase to the `fi`.
    const check = p.buildPhase.slice(0, p.buildPhase.indexOf("\nfi\n") + 4);
    assert.match(check, /cmp -s \S+\/deno\.lock deno\.lock/);
    await withTemp(async (dir) => {
      const deps = join(dir, "deps");
      const src = join(dir, "src");
      await Deno.mkdir(deps);
      await Deno.mkdir(src);
      const lock = await Deno.readTextFile(join(REPO, "deno.lock"));
      await Deno.writeTextFile(join(deps, "deno.lock"), lock);
      const script = "runHook() { :; }\n" + check.replaceAll(p.depsPath, deps) + "echo compiled\n";
      const sh = async () => await run(["bash", "-c", script], { cwd: src, timeoutMs: 10_000 });
      await Deno.writeTextFile(join(src, "deno.lock"), lock);
      const same = await sh();
      assert.equal(same.code, 0, same.stderr);
      assert.equal(same.stdout, "compiled\n");
      await Deno.writeTextFile(
        join(src, "deno.lock"),
        lock.replace(/"version": "\d+"/, '"version": "4"'),
      );
      const changed = await sh();
      assert.equal(changed.code, 1);
      assert.equal(changed.stdout, "");
      assert.match(
        changed.stderr,
        /^nix\/package\.nix: deno\.lock is not the one the dependency cache was made from \(depsHash is stale\): run nix\/update-deps-hash\.sh/,
      );
    });
  },
);
