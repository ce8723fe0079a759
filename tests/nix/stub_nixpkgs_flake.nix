# The stand-in for the nixpkgs flake that tests/nix evaluates flake.nix against:
# `lib` is nixpkgs' real lib (../shared/nixpkgs-lib) extended with nixosSystem
# (nixos_system.nix), `legacyPackages` the package stand-in (stub_pkgs.nix) for
# the two systems the flake builds. Listed under `flake` in nixpkgs_stubs.json.
#
# lib:      nixpkgs' lib
# stubArgs: extra arguments of stub_pkgs.nix
{
  lib,
  stubArgs ? { },
}:
{
  lib = lib.extend (
    final: _prev: {
      nixosSystem = import ./nixos_system.nix {
        lib = final;
        inherit stubArgs;
      };
    }
  );
  legacyPackages =
    lib.genAttrs
      [
        "x86_64-linux"
        "aarch64-linux"
      ]
      (
        system:
        import ./stub_pkgs.nix (
          {
            inherit lib system;
          }
          // stubArgs
        )
      );
}
