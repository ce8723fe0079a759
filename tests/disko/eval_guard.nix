# Evaluates nix/disko_guard.nix with nixpkgs' real lib (lib.evalModules from
# ../shared/nixpkgs-lib) and disko's real types (../shared/disko), for
# tests/disko/guard_test.ts, and builds the pre-switch script NixOS would run.
# Full NixOS cannot be downloaded here, so the options the module sets are
# declared below with the types nixpkgs gives them.
#
# Stubbed options (type as nixpkgs declares it; source):
#   system.preSwitchChecks     attrsOf str, default { }
#                              nixpkgs nixos/modules/system/activation/pre-switch-check.nix
#   environment.etc            attrsOf (submodule: enable bool default true; target str,
#                              mkDefault name; text nullOr lines default null), default { }
#                              nixpkgs nixos/modules/system/etc/etc.nix (source, mode, uid,
#                              gid, user, group left out: source needs pkgs.writeText)
#   disko.devices              diskoLib.toplevel, default { }   disko module.nix (../shared/disko)
#   services.grapheon.package  types.package                    this repo's nix/module.nix
# Stubbed module argument:
#   pkgs.util-linux            { type = "derivation"; name; outPath }: a directory whose bin/
#                              holds lsblk and findmnt doubles; nixpkgs
#                              pkgs/by-name/ut/util-linux/package.nix (first output "bin",
#                              lsblk and findmnt in $bin/bin)
# The script: what nixpkgs' pre-switch-check.nix makes of system.preSwitchChecks (each entry
# runs in a subshell with its stdout sent to stderr; a non-zero status prints
# "Pre-switch check 'NAME' failed" and exits 1), under writeShellApplication's options
# (pkgs/build-support/trivial-builders: errexit, nounset, pipefail), called the way
# switch-to-configuration-ng's do_pre_switch_check calls it: SCRIPT TOPLEVEL ACTION.
#
# Arguments (strings, from --argstr): shared (../shared), layout (a disko.nix module),
# package and utilLinux (directories), overrideFile, enable ("1" or "0").
{
  shared,
  layout,
  package,
  utilLinux,
  overrideFile,
  enable ? "1",
}:
let
  lib = import (/. + shared + "/nixpkgs-lib/lib");
  diskoLib = import (/. + shared + "/disko/lib") {
    inherit lib;
    makeTest = null;
    eval-config = null;
    qemu-common = null;
  };
  inherit (lib) mkOption types;

  stubs = {
    options = {
      system.preSwitchChecks = mkOption {
        type = types.attrsOf types.str;
        default = { };
      };
      environment.etc = mkOption {
        type = types.attrsOf (
          types.submodule (
            { name, ... }:
            {
              options = {
                enable = mkOption {
                  type = types.bool;
                  default = true;
                };
                target = mkOption { type = types.str; };
                text = mkOption {
                  type = types.nullOr types.lines;
                  default = null;
                };
              };
              config.target = lib.mkDefault name;
            }
          )
        );
        default = { };
      };
      disko.devices = mkOption {
        type = diskoLib.toplevel;
        default = { };
      };
      services.grapheon.package = mkOption { type = types.package; };
    };
  };

  derivation = name: outPath: {
    type = "derivation";
    inherit name outPath;
  };

  evaluated = lib.evalModules {
    specialArgs.pkgs.util-linux = derivation "util-linux" utilLinux;
    modules = [
      stubs
      ../../nix/disko_guard.nix
      (/. + layout)
      {
        services.grapheon.package = derivation "grapheon-tool" package;
        services.grapheon.diskoGuard = {
          enable = enable == "1";
          inherit overrideFile;
        };
      }
    ];
  };
  inherit (evaluated) config;

  checks = lib.concatStrings (
    lib.mapAttrsToList (name: text: ''
      # ${name}
      if ! (
      ${text}
      ) 1>&2; then
        echo "Pre-switch check '${name}' failed" 1>&2
        exit 1
      fi
    '') config.system.preSwitchChecks
  );
in
{
  checks = config.system.preSwitchChecks;
  etc = lib.mapAttrs (_: f: f.text) config.environment.etc;
  script = ''
    #!/usr/bin/env bash
    set -o errexit
    set -o nounset
    set -o pipefail
    ${checks}
  '';
}
