# grapheon-tool built with `deno compile` inside the Nix sandbox.
#
# 1. deps: a fixed-output derivation that runs `deno install --frozen` against
#    deno.lock and keeps only the unpacked npm packages (registry.json, the
#    registry's package metadata, is dropped: it changes whenever a new version is
#    published). One hash, `depsHash`; after a deno.lock change run
#    nix/update-deps-hash.sh (or build once and copy the hash Nix reports).
# 2. the binary: `deno compile --cached-only --frozen` with DENORT_BIN pointing at
#    nixpkgs' top-level `denort` (pkgs/by-name/de/denort/package.nix: deno's cli/rt,
#    built from the same source as `deno`; nixpkgs' `deno` itself keeps only bin/deno),
#    flags from scripts/compile_spec.json (the same list scripts/compile.ts uses).
#    Never stripped: the program is embedded in the binary.
#
# Two checks that would otherwise only show late:
# - denort must be the same version as the deno that compiles: the embedded program's
#   format is tied to the version, and a mismatch only shows when the binary runs.
# - the deps output carries the deno.lock it was made from, and the build compares it
#   with the source's: a changed deno.lock with an unchanged depsHash would otherwise
#   reuse the old cache (Nix never rebuilds a fixed output it already has) and fail
#   much later with "not found in cache".
{
  lib,
  stdenvNoCC,
  deno,
  denort,
  depsHash ? "sha256-H5/pqRfP/1zcXBCI7Y1WMTmKnG9MruZcaPHDt8qr1Yk=",
}:
let
  spec = lib.importJSON ../scripts/compile_spec.json;
  inherit (lib.importJSON ../deno.json) version;
  system = stdenvNoCC.hostPlatform.system;
  target =
    spec.targets.${system} or (throw "grapheon-tool: ${system} is not one of ${toString (builtins.attrNames spec.targets)}");

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../main.ts
      ../deno.json
      ../deno.lock
      ../lib
      ../commands
      ../units
      ../scripts/compile_spec.json
    ];
  };

  deps = stdenvNoCC.mkDerivation {
    pname = "${spec.name}-deno-deps";
    inherit version src;
    nativeBuildInputs = [ deno ];
    dontConfigure = true;
    dontFixup = true;
    buildPhase = ''
      runHook preBuild
      export HOME="$TMPDIR" DENO_DIR="$TMPDIR/deno" DENO_NO_UPDATE_CHECK=1
      deno install --frozen --entrypoint ${spec.entry}
      runHook postBuild
    '';
    installPhase = ''
      runHook preInstall
      mkdir -p "$out"
      cp -r "$DENO_DIR/npm" "$out/npm"
      find "$out/npm" -name registry.json -delete
      # What this cache was made from: the build below compares it with its own deno.lock.
      cp deno.lock "$out/deno.lock"
      runHook postInstall
    '';
    outputHashMode = "recursive";
    outputHashAlgo = "sha256";
    outputHash = depsHash;
  };
in
# nixpkgs' denort is deno.overrideAttrs, so the two agree unless one is overridden alone.
assert lib.assertMsg (denort.version == deno.version)
  "nix/package.nix: denort ${denort.version} does not match deno ${deno.version}; deno compile embeds the program in a runtime of its own version: pass a denort built from the same deno";
stdenvNoCC.mkDerivation {
  pname = spec.name;
  inherit version src;
  nativeBuildInputs = [ deno ];
  dontConfigure = true;
  # deno compile embeds the program in the runtime binary: stripping or patching it
  # would cut the program off. denort from nixpkgs is already built for Nix.
  dontStrip = true;
  dontPatchELF = true;
  buildPhase = ''
    runHook preBuild
    # cmp: diffutils, part of every stdenv's default PATH (pkgs/stdenv/common-path.nix).
    if ! cmp -s ${deps}/deno.lock deno.lock; then
      echo "nix/package.nix: deno.lock is not the one the dependency cache was made from (depsHash is stale): run nix/update-deps-hash.sh and set depsHash to the hash it prints" >&2
      exit 1
    fi
    export HOME="$TMPDIR" DENO_DIR="$TMPDIR/deno" DENO_NO_UPDATE_CHECK=1
    mkdir -p "$DENO_DIR"
    cp -r --no-preserve=mode ${deps}/npm "$DENO_DIR/npm"
    export DENORT_BIN=${lib.getExe denort}
    deno compile --cached-only --frozen --target ${target} \
      ${lib.escapeShellArgs spec.permissions} \
      ${lib.concatMapStringsSep " " (i: "--include ${lib.escapeShellArg i}") spec.include} \
      --output ${spec.name} ${spec.entry}
    runHook postBuild
  '';
  installPhase = ''
    runHook preInstall
    install -Dm755 ${spec.name} "$out/bin/${spec.name}"
    runHook postInstall
  '';
  doInstallCheck = true;
  installCheckPhase = ''
    "$out/bin/${spec.name}" --version
  '';
  passthru = { inherit deps denort; };
  meta = {
    description = "Upgrades, rollbacks and checks for Graphēon hosts (Podman containers under systemd)";
    mainProgram = spec.name;
    platforms = builtins.attrNames spec.targets;
  };
}
