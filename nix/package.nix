# grapheon-tool built with `deno compile` inside the Nix sandbox.
#
# 1. deps: a fixed-output derivation that runs `deno install --frozen` against
#    deno.lock and keeps only the unpacked npm packages (registry.json, the
#    registry's package metadata, is dropped: it changes whenever a new version is
#    published). One hash, `depsHash`; after a deno.lock change run
#    nix/update-deps-hash.sh (or build once and copy the hash Nix reports).
# 2. the binary: `deno compile --cached-only --frozen` with DENORT_BIN pointing at
#    nixpkgs' deno.denort, flags from scripts/compile_spec.json (the same list
#    scripts/compile.ts uses). Never stripped: the program is embedded in the binary.
{
  lib,
  stdenvNoCC,
  deno,
  depsHash ? "sha256-jQyymOFwDy9/NUXTABdiaHlePLk3BcBDeZqj7IXJf2c=",
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
      runHook postInstall
    '';
    outputHashMode = "recursive";
    outputHashAlgo = "sha256";
    outputHash = depsHash;
  };
in
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
    export HOME="$TMPDIR" DENO_DIR="$TMPDIR/deno" DENO_NO_UPDATE_CHECK=1
    mkdir -p "$DENO_DIR"
    cp -r --no-preserve=mode ${deps}/npm "$DENO_DIR/npm"
    export DENORT_BIN=${lib.getExe' deno.denort "denort"}
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
  passthru = { inherit deps; };
  meta = {
    description = "Upgrades, rollbacks and checks for Graphēon hosts (Podman containers under systemd)";
    mainProgram = spec.name;
    platforms = builtins.attrNames spec.targets;
  };
}
