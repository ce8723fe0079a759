# The tool config the NixOS module writes to /etc/grapheon/grapheon-tool.json:
# the tool's defaults (defaults.json, generated from lib/config.ts by
# scripts/nix_defaults.ts and checked by tests/nix), the module's options, then
# services.grapheon.upgrade.settings on top. Builtins only (no nixpkgs), so tests
# can evaluate it; the result must pass `grapheon-tool config --check`.
#
# cfg:       the values of services.grapheon
# package:   the grapheon-tool package (or its store path)
# commands:  absolute paths of the programs the tool runs (podman, systemctl, df, …): the
#            upgrade units run with systemd's minimal PATH; names the tool does not know
#            are left out
{
  cfg,
  package,
  commands,
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
    commands = builtins.intersectAttrs defaults.commands commands;
  };
in
merge (merge defaults fromOptions) cfg.upgrade.settings
