# The tool config the NixOS module writes to /etc/grapheon/grapheon-tool.json:
# the tool's defaults (defaults.json, generated from lib/config.ts by
# scripts/nix_defaults.ts and checked by tests/nix), the module's options, then
# services.grapheon.upgrade.settings on top. Builtins only (no nixpkgs), so tests
# can evaluate it; the result must pass `grapheon-tool config --check`.
#
# cfg:      the values of services.grapheon
# package:  the grapheon-tool package (or its store path)
# podman, systemctl: store paths of the packages providing bin/podman and bin/systemctl
{
  cfg,
  package,
  podman,
  systemctl,
  defaults ? builtins.fromJSON (builtins.readFile ./defaults.json),
}:
let
  # Recursive merge: attrsets merge key by key, anything else (lists too) is replaced.
  merge =
    a: b:
    if builtins.isAttrs a && builtins.isAttrs b then
      a
      // builtins.mapAttrs (k: v: if builtins.hasAttr k a then merge a.${k} v else v) b
    else
      b;
  side = s: {
    inherit (s) image port environment;
    seedTag = s.tag;
    envFiles = map toString s.environmentFiles;
  };
  fromOptions = {
    inherit (cfg) dataDir;
    binPath = "${package}/bin/grapheon-tool";
    backend = side cfg.backend // {
      healthUrl = "http://localhost:${toString cfg.backend.port}/health";
    };
    frontend = side cfg.frontend // {
      url = "http://localhost:${toString cfg.frontend.port}/";
    };
    commands = {
      podman = "${podman}/bin/podman";
      systemctl = "${systemctl}/bin/systemctl";
    };
  };
in
merge (merge defaults fromOptions) cfg.upgrade.settings
