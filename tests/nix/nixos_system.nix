# A stand-in for the nixpkgs flake's lib.nixosSystem (nixpkgs' flake.nix:
# nixosSystem = args: import ./nixos/lib/eval-config.nix { … modules = args.modules
# ++ [ … ]; }), which needs NixOS's modules: nixpkgs' real lib.evalModules over
# args.modules and the declarations of the NixOS options the project uses
# (nixos_options.nix), with pkgs (the `pkgs` module argument NixOS derives from
# nixpkgs.hostPlatform) the package stand-in of stub_pkgs.nix.
#
# lib:       nixpkgs' lib (../shared/nixpkgs-lib/lib)
# stubArgs:  extra arguments of stub_pkgs.nix (hostPrefix, versions)
{
  lib,
  stubArgs ? { },
}:
args:
lib.evalModules {
  modules = args.modules ++ [
    ./nixos_options.nix
    (
      { config, ... }:
      {
        _module.args.pkgs = import ./stub_pkgs.nix (
          {
            inherit lib;
            inherit (config.nixpkgs.hostPlatform) system;
          }
          // stubArgs
        );
      }
    )
  ];
}
