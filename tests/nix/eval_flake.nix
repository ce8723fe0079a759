# Evaluates flake.nix's outputs and nix/package.nix against a stand-in for the
# nixpkgs flake (none can be fetched in the test environment): nixpkgs' real lib
# (../shared/nixpkgs-lib), lib.nixosSystem and legacyPackages as listed in
# tests/nix/nixpkgs_stubs.json (nixos_system.nix, stub_pkgs.nix). It reads the
# wiring of the flake (systems, packages, overlay, module, checks, dev shell) and
# what the package derivation is given; the check `module` is evaluated through
# the stand-in nixosSystem. Building needs real nixpkgs: `nix flake check`
# (docs/nixos.md).
#
# nixpkgsLib:    nixpkgs' lib directory
# packageFile:   the package expression (default nix/package.nix; tests pass altered copies)
# denortVersion: version of the stub denort (tests pass another to check the assertion)
{
  nixpkgsLib ? ../../../shared/nixpkgs-lib/lib,
  packageFile ? ../../nix/package.nix,
  denortVersion ? null,
}:
let
  stubArgs = if denortVersion == null then { } else { inherit denortVersion; };
  nixpkgs = import ./stub_nixpkgs_flake.nix {
    lib = import nixpkgsLib;
    inherit stubArgs;
  };
  outputs = (import ../../flake.nix).outputs {
    self = outputs;
    inherit nixpkgs;
  };
  pkgs = nixpkgs.legacyPackages.aarch64-linux;
  pkg =
    if packageFile == ../../nix/package.nix then
      outputs.packages.aarch64-linux.default
    else
      pkgs.callPackage packageFile { };
  module = outputs.nixosModules.default {
    inherit (nixpkgs) lib;
    pkgs = nixpkgs.legacyPackages.x86_64-linux;
  };
in
{
  outputs = builtins.attrNames outputs;
  systems = builtins.attrNames outputs.packages;
  packages = builtins.attrNames outputs.packages.x86_64-linux;
  checks = builtins.attrNames outputs.checks.x86_64-linux;
  devShellPackages = map (p: p.pname) outputs.devShells.x86_64-linux.default.nativeBuildInputs;
  overlayPackage =
    ((outputs.overlays.default nixpkgs.legacyPackages.x86_64-linux { }).grapheon-tool).pname;
  moduleImports = map toString module.imports;
  modulePackage = module.services.grapheon.package.content.outPath;
  # The check configuration, evaluated with the module's options through the stand-in.
  checkModule = toString outputs.checks.x86_64-linux.module;
  package = {
    inherit (pkg)
      pname
      version
      dontStrip
      dontPatchELF
      buildPhase
      installPhase
      ;
    meta = pkg.meta;
    denort = pkg.passthru.denort.name;
    depsHash = pkg.passthru.deps.outputHash;
    depsMode = pkg.passthru.deps.outputHashMode;
    depsBuild = pkg.passthru.deps.buildPhase;
    depsInstall = pkg.passthru.deps.installPhase;
    depsPath = toString pkg.passthru.deps;
  };
}
