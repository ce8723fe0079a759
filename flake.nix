{
  description = "grapheon-tool: upgrades, rollbacks and checks for Graphēon hosts (Podman containers under systemd)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      spec = builtins.fromJSON (builtins.readFile ./scripts/compile_spec.json);
      # x86_64-linux and aarch64-linux: the targets deno compile builds.
      systems = builtins.attrNames spec.targets;
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        grapheon-tool = pkgs.callPackage ./nix/package.nix { };
        default = grapheon-tool;
      });

      overlays.default = final: _prev: { grapheon-tool = final.callPackage ./nix/package.nix { }; };

      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          services.grapheon.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };

      checks = forAllSystems (pkgs: {
        package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        # The module in a minimal NixOS configuration, evaluated and built to a system.
        module =
          (nixpkgs.lib.nixosSystem {
            modules = [
              self.nixosModules.default
              {
                nixpkgs.hostPlatform = pkgs.stdenv.hostPlatform.system;
                boot.isContainer = true;
                system.stateVersion = "25.05";
                services.grapheon = {
                  enable = true;
                  backend.environmentFiles = [ "/run/secrets/grapheon.env" ];
                  upgrade.settings.timeouts.health = "60s";
                };
              }
            ];
          }).config.system.build.toplevel;
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.deno
            pkgs.nix
            pkgs.systemd
          ];
        };
      });
    };
}
