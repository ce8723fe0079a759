# Evaluates nix/module.nix without nixpkgs (none can be fetched in the test
# environment): stand-ins for the few lib functions the module uses, option
# defaults applied the way the module system would, mkIf resolved. Enough to
# read what the module generates; the real evaluation is the flake's
# checks.<system>.module.
#
# valuesFile: JSON file with the services.grapheon values to set (enable, package, …)
{ valuesFile }:
let
  values = builtins.fromJSON (builtins.readFile valuesFile);
  lib = {
    mkOption = o: o // { _type = "option"; };
    mkEnableOption = description: {
      _type = "option";
      default = false;
      inherit description;
    };
    mkIf = cond: content: {
      _type = "if";
      inherit cond content;
    };
    types = {
      bool = "bool";
      str = "str";
      port = "port";
      path = "path";
      package = "package";
      attrs = "attrs";
      listOf = _: "list";
      attrsOf = _: "attrs";
    };
  };
  pkgs = {
    runtimeShell = "/nix/store/00000000000000000000000000000000-bash-5.2/bin/bash";
    runCommand = name: env: script: env // { inherit name script; };
    coreutils = "/nix/store/55555555555555555555555555555555-coreutils-9.5";
    util-linux = "/nix/store/66666666666666666666666666666666-util-linux-2.40";
  };
  podman = "/nix/store/11111111111111111111111111111111-podman-5.4.0";
  systemd = "/nix/store/22222222222222222222222222222222-systemd-257";

  isOption = x: builtins.isAttrs x && (x._type or null) == "option";
  defaultsOf = opts: if isOption opts then opts.default or null else builtins.mapAttrs (_: defaultsOf) opts;
  merge =
    a: b:
    if builtins.isAttrs a && builtins.isAttrs b then
      a // builtins.mapAttrs (k: v: if builtins.hasAttr k a then merge a.${k} v else v) b
    else
      b;
  resolve =
    x:
    if builtins.isAttrs x && (x._type or null) == "if" then
      (if x.cond then resolve x.content else null)
    else if builtins.isAttrs x then
      builtins.mapAttrs (_: resolve) x
    else
      x;

  call =
    cfg:
    import ../../nix/module.nix {
      inherit lib pkgs;
      config = {
        services.grapheon = cfg;
        virtualisation.podman.package = podman;
        systemd.package = systemd;
        nix.package = "/nix/store/77777777777777777777777777777777-nix-2.24";
      };
    };
  cfg = merge (defaultsOf (call cfg).options.services.grapheon) values;
in
{
  inherit cfg podman;
  sh = pkgs.runtimeShell;
  config = resolve (call cfg).config;
}
