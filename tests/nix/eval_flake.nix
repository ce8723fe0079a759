# Evaluates flake.nix's outputs and nix/package.nix against a stand-in for
# nixpkgs (no nixpkgs can be fetched in the test environment): the wiring of
# the flake (systems, packages, overlay, module, checks, dev shell) and what the
# package derivation is given (compile flags from scripts/compile_spec.json,
# fixed-output hash, no stripping, meta). Building needs real nixpkgs:
# `nix flake check` (docs/nixos.md).
let
  store = name: "/nix/store/44444444444444444444444444444444-${name}";
  lib = {
    genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
    nixosSystem = _: throw "nixosSystem needs nixpkgs";
    mkDefault = x: x;
    importJSON = p: builtins.fromJSON (builtins.readFile p);
    fileset = {
      toSource = { root, fileset }: toString root;
      unions = l: l;
    };
    getExe' = drv: name: "${drv}/bin/${name}";
    escapeShellArg = s: "'${s}'";
    escapeShellArgs = l: builtins.concatStringsSep " " (map lib.escapeShellArg l);
    concatMapStringsSep = sep: f: l: builtins.concatStringsSep sep (map f l);
  };
  pkgsFor = system: rec {
    inherit lib;
    stdenvNoCC = {
      hostPlatform = { inherit system; };
      mkDerivation = attrs: attrs // { outPath = store "${attrs.pname}-${attrs.version}"; };
    };
    stdenv = stdenvNoCC;
    deno = {
      outPath = store "deno";
      denort = store "denort";
    };
    callPackage = path: overrides: import path ({ inherit lib stdenvNoCC deno; } // overrides);
    mkShell = attrs: attrs;
    nix = "nix";
    systemd = "systemd";
  };
  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] pkgsFor;
  };
  outputs = (import ../../flake.nix).outputs { self = outputs; inherit nixpkgs; };
  pkg = outputs.packages.aarch64-linux.default;
  module = outputs.nixosModules.default { inherit lib; pkgs = pkgsFor "x86_64-linux"; };
in
{
  outputs = builtins.attrNames outputs;
  systems = builtins.attrNames outputs.packages;
  packages = builtins.attrNames outputs.packages.x86_64-linux;
  checks = builtins.attrNames outputs.checks.x86_64-linux;
  devShellPackages = outputs.devShells.x86_64-linux.default.packages;
  overlayPackage = ((outputs.overlays.default (pkgsFor "x86_64-linux") { }).grapheon-tool).pname;
  moduleImports = map toString module.imports;
  modulePackage = module.services.grapheon.package.outPath;
  package = {
    inherit (pkg) pname version dontStrip dontPatchELF buildPhase;
    meta = pkg.meta;
    depsHash = pkg.passthru.deps.outputHash;
    depsMode = pkg.passthru.deps.outputHashMode;
    depsBuild = pkg.passthru.deps.buildPhase;
    depsInstall = pkg.passthru.deps.installPhase;
  };
}
