# Evaluates nix/module.nix with nixpkgs' real lib.evalModules (../shared/nixpkgs-lib)
# and the NixOS option declarations of nixos_options.nix (types as nixpkgs gives
# them), pkgs from stub_pkgs.nix (nothing is built). Returns what the module
# generates, in plain values for the tests (derivations as their store paths).
#
# valuesFile:  JSON file with the services.grapheon values (enable, package as a
#              store path string, …)
# modulesFile: optional .nix file holding a list of further modules (to test
#              merging across modules, mkDefault, mkIf)
# nixpkgsLib:  nixpkgs' lib directory (tests pass ../shared/nixpkgs-lib/lib of the
#              checkout's parent)
# hostPrefix:  see stub_pkgs.nix: programs from a real host's /usr instead of the store
{
  valuesFile,
  modulesFile ? null,
  nixpkgsLib ? ../../../shared/nixpkgs-lib/lib,
  hostPrefix ? null,
}:
let
  lib = import nixpkgsLib;
  values = builtins.fromJSON (builtins.readFile valuesFile);
  # types.package turns a plain store-path string into a derivation with
  # builtins.storePath, which needs the path to exist: give it a derivation.
  package = {
    type = "derivation";
    name = "grapheon-tool";
    outPath = values.package;
  };
  eval = import ./nixos_system.nix { inherit lib; stubArgs = { inherit hostPrefix; }; } {
    modules = [
      ../../nix/module.nix
      {
        nixpkgs.hostPlatform = "x86_64-linux";
        services.grapheon = values // { inherit package; };
      }
    ]
    ++ (if modulesFile == null then [ ] else import modulesFile);
  };
  c = eval.config;
in
{
  cfg = c.services.grapheon // {
    package = toString c.services.grapheon.package;
  };
  podman = toString c.virtualisation.podman.package;
  sh = eval._module.args.pkgs.runtimeShell;
  config = {
    systemd.units = lib.mapAttrs (_: u: { inherit (u) text wantedBy; }) c.systemd.units;
    systemd.tmpfiles.rules = c.systemd.tmpfiles.rules;
    environment.etc = lib.mapAttrs (_: e: {
      inherit (e) target;
      source = {
        inherit (e.source) name json buildCommand passAsFile;
      };
    }) c.environment.etc;
    environment.systemPackages = map toString c.environment.systemPackages;
    networking.firewall.allowedTCPPorts = c.networking.firewall.allowedTCPPorts;
    networking.firewall.interfaces = c.networking.firewall.interfaces;
    virtualisation.podman.enable = c.virtualisation.podman.enable;
  };
  toplevel = toString c.system.build.toplevel;
}
