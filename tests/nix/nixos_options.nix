# Declarations of the NixOS options that flake.nix and nix/module.nix set or
# read, with the types (and defaults, and applies) nixpkgs gives them, for
# evaluating the module with nixpkgs' real lib.evalModules where NixOS's own
# modules cannot be downloaded. Each is listed, with the nixpkgs file that
# declares it, in tests/nix/nixpkgs_stubs.json; tests/nix/stub_audit_test.ts
# holds this file and that list to each other. Only the sub-options the project
# uses are declared: setting any other one fails here as an undeclared option.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;

  # nixos/lib/systemd-lib.nix: unitNameType.
  unitName = types.strMatching "[a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)";

  # What building the system instantiates from the parts this project touches.
  instantiated = builtins.toJSON {
    etc = lib.mapAttrs (_: e: {
      inherit (e) target;
      source = lib.filterAttrs (_: builtins.isString) e.source;
    }) config.environment.etc;
    units = config.systemd.units;
    tmpfiles = config.systemd.tmpfiles.rules;
    packages = map toString config.environment.systemPackages;
    ports = config.networking.firewall.allowedTCPPorts;
    podman = config.virtualisation.podman.enable;
  };
in
{
  options = {
    # nixos/modules/system/boot/systemd.nix
    systemd.package = lib.mkPackageOption pkgs "systemd" { };
    # nixos/modules/system/boot/systemd.nix, type from nixos/lib/systemd-types.nix
    # (units) and nixos/lib/systemd-unit-options.nix (concreteUnitOptions).
    systemd.units = mkOption {
      default = { };
      type = types.attrsOf (
        types.submodule {
          options = {
            text = mkOption {
              type = types.nullOr types.str;
              default = null;
            };
            wantedBy = mkOption {
              type = types.listOf unitName;
              default = [ ];
            };
          };
        }
      );
    };
    # nixos/modules/system/boot/systemd/tmpfiles.nix
    systemd.tmpfiles.rules = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    # nixos/modules/system/etc/etc.nix
    environment.etc = mkOption {
      default = { };
      type = types.attrsOf (
        types.submodule (
          { name, ... }:
          {
            options = {
              target = mkOption { type = types.str; };
              source = mkOption { type = types.path; };
              # nixpkgs derives `source` from `text` (pkgs.writeText); only
              # nix/disko_guard.nix sets it, under diskoGuard.enable, which the module
              # tests leave off (tests/disko/eval_guard.nix evaluates the guard).
              text = mkOption {
                type = types.nullOr types.lines;
                default = null;
              };
            };
            config.target = lib.mkDefault name;
          }
        )
      );
    };
    # nixos/modules/config/system-path.nix
    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
    };
    # nixos/modules/services/networking/firewall.nix (commonOptions)
    networking.firewall.allowedTCPPorts = mkOption {
      type = types.listOf types.port;
      default = [ ];
      apply = ports: lib.unique (builtins.sort builtins.lessThan ports);
    };
    # nixos/modules/services/networking/firewall.nix: interfaces = attrsOf (submodule
    # [ { options = commonOptionsIncoming; } ]); of commonOptions only allowedTCPPorts here.
    networking.firewall.interfaces = mkOption {
      default = { };
      type = types.attrsOf (
        types.submodule [
          {
            options.allowedTCPPorts = mkOption {
              type = types.listOf types.port;
              default = [ ];
              apply = ports: lib.unique (builtins.sort builtins.lessThan ports);
            };
          }
        ]
      );
    };
    # nixos/modules/virtualisation/podman/default.nix. The real default is
    # pkgs.podman.override { extraPackages = …; } (a wrapper, still bin/podman).
    virtualisation.podman.enable = mkOption {
      type = types.bool;
      default = false;
    };
    virtualisation.podman.package = mkOption {
      type = types.package;
      default = pkgs.podman;
      internal = true;
    };
    # nixos/modules/services/system/nix-daemon.nix
    nix.package = mkOption {
      type = types.package;
      default = pkgs.nix;
    };
    # nixos/modules/misc/nixpkgs.nix
    nixpkgs.hostPlatform = mkOption {
      type = types.either types.str types.attrs;
      apply = lib.systems.elaborate;
    };
    # nixos/modules/virtualisation/nixos-containers.nix
    boot.isContainer = mkOption {
      type = types.bool;
      default = false;
    };
    # nixos/modules/misc/version.nix (default: the NixOS release)
    system.stateVersion = mkOption {
      type = types.str;
      default = lib.trivial.release;
    };
    # nixos/modules/system/activation/pre-switch-check.nix (its `apply` adds the
    # generated `script`, which nothing here reads)
    system.preSwitchChecks = mkOption {
      type = types.attrsOf types.str;
      default = { };
    };
    # nixos/modules/system/build.nix
    system.build = mkOption {
      default = { };
      type = types.submoduleWith {
        modules = [ { freeformType = types.lazyAttrsOf (types.uniq types.unspecified); } ];
      };
    };
  };

  # nixos/modules/system/activation/top-level.nix sets system.build.toplevel: the
  # system, built from everything above. Here a derivation whose store path can
  # only be known once those parts evaluate.
  config.system.build.toplevel = {
    type = "derivation";
    name = "nixos-system";
    outPath = builtins.seq instantiated "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" instantiated)}-nixos-system";
  };
}
