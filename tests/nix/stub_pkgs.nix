# A stand-in for nixpkgs' package set, for evaluating flake.nix and nix/*.nix
# where full nixpkgs cannot be downloaded. It holds exactly the attributes listed
# in tests/nix/nixpkgs_stubs.json (each read in nixpkgs' source, the file says
# where); tests/nix/stub_audit_test.ts holds the two to each other. Nothing here
# builds: derivations are attribute sets with the attributes nixpkgs' would have.
#
# lib:        nixpkgs' own lib (../shared/nixpkgs-lib/lib)
# system:     "x86_64-linux" or "aarch64-linux"
# hostPrefix: when set (e.g. "/usr"), the program packages (podman, systemd,
#             coreutils, util-linux, iproute2, nix) are "installed" there instead of the Nix
#             store, and runtimeShell is <hostPrefix>/bin/bash: the rendered units
#             then name the real programs of a Debian host (/usr/bin/podman, …), so
#             that systemd-analyze verify and the lab can run them as written
# denoVersion, denortVersion: versions of the deno and denort packages
{
  lib,
  system,
  hostPrefix ? null,
  denoVersion ? "2.8.3",
  denortVersion ? denoVersion,
}:
let
  # A fixed fake store path per name: these tests never build, they compare strings.
  store = name: "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" name)}-${name}";

  # What every derivation is (the Nix manual's `derivation`: type, outPath, name),
  # plus the attributes a package carries; meta is make-derivation.nix's.
  package =
    {
      pname,
      version,
      extra ? { },
    }:
    let
      name = "${pname}-${version}";
    in
    {
      type = "derivation";
      inherit name pname;
      outPath = if hostPrefix != null then hostPrefix else store name;
    }
    // extra;

  # stdenvNoCC.mkDerivation (pkgs/stdenv/generic/make-derivation.nix): the
  # derivation's attributes stay readable on the result, passthru is merged in and
  # kept as `passthru`, meta is kept.
  mkDerivation =
    attrs:
    let
      name = attrs.name or "${attrs.pname}-${attrs.version}";
      passthru = attrs.passthru or { };
    in
    removeAttrs attrs [ "passthru" ]
    // passthru
    // {
      type = "derivation";
      inherit name passthru;
      meta = attrs.meta or { };
      outPath = store name;
    };

  hostPlatform = lib.systems.elaborate system;

  pkgs = {
    inherit lib;
    callPackage = lib.callPackageWith pkgs;
    stdenvNoCC = {
      inherit mkDerivation hostPlatform;
    };
    stdenv = {
      inherit hostPlatform;
    };
    deno = package {
      pname = "deno";
      version = denoVersion;
      extra.version = denoVersion;
    };
    denort = package {
      pname = "denort";
      version = denortVersion;
      extra = {
        version = denortVersion;
        meta.mainProgram = "denort";
      };
    };
    # pkgs/build-support/mkshell: `packages` end up in nativeBuildInputs.
    mkShell =
      {
        name ? "nix-shell",
        packages ? [ ],
      }:
      mkDerivation {
        inherit name;
        nativeBuildInputs = packages;
      };
    nix = package {
      pname = "nix";
      version = "2.24";
    };
    systemd = package {
      pname = "systemd";
      version = "257";
    };
    podman = package {
      pname = "podman";
      version = "5.4.0";
    };
    coreutils = package {
      pname = "coreutils";
      version = "9.5";
    };
    util-linux = package {
      pname = "util-linux";
      version = "2.40";
    };
    iproute2 = package {
      pname = "iproute2";
      version = "6.12.0";
    };
    runtimeShell =
      if hostPrefix != null then "${hostPrefix}/bin/bash" else "${store "bash-5.2"}/bin/bash";
    # pkgs/build-support/trivial-builders: runCommandWith.
    runCommand =
      name: env: buildCommand:
      mkDerivation (
        env
        // {
          inherit name buildCommand;
          passAsFile = [ "buildCommand" ] ++ (env.passAsFile or [ ]);
        }
      );
    # pkgs/pkgs-lib/formats.nix: json's `type`, built the same way from nixpkgs'
    # lib.types (a recursive JSON value: attribute sets merge key by key, lists
    # concatenate, anything else must be defined once or by priority).
    formats.json =
      { }:
      {
        type =
          let
            value =
              lib.types.nullOr (
                lib.types.oneOf [
                  lib.types.bool
                  lib.types.int
                  lib.types.float
                  lib.types.str
                  lib.types.path
                  (lib.types.attrsOf value)
                  (lib.types.listOf value)
                ]
              )
              // {
                description = "JSON value";
              };
          in
          value;
      };
  };
in
pkgs
