# services.grapheon.diskoGuard: "get disko.nix right once, then leave it alone",
# enforced on every switch. The system carries its evaluated disk layout
# (/etc/grapheon/disko.json, as `grapheon-tool disko eval` prints it) and a
# pre-switch check runs `grapheon-tool disko guard` on the incoming system: its
# layout against the running machine's disks (`disko diff --live`). A change
# disko would not apply, or a destructive one, stops the switch before
# activation, whether it comes from nixos-rebuild, nh os switch, a webhook or a
# timer; the override file (or GRAPHEON_DISKO_OVERRIDE=1) lets one switch through,
# logged. How NixOS runs the check (nixpkgs
# nixos/modules/system/activation/pre-switch-check.nix, and
# switch-to-configuration-ng's do_pre_switch_check): every entry of
# system.preSwitchChecks runs, stdout to stderr, inside one writeShellApplication
# script (errexit, nounset, pipefail) that switch-to-configuration calls with
# the incoming system as $1 and its action (switch, boot, test, dry-activate,
# check) as $2, for every action unless NIXOS_NO_CHECK=1; a non-zero exit prints
# "Pre-switch check 'grapheon-disko' failed" and the switch exits 1 before the
# boot loader or anything else is touched.
{
  config,
  lib,
  options,
  pkgs,
  ...
}:
let
  cfg = config.services.grapheon.diskoGuard;

  # The same function as STRIP_EXPR in lib/disko/nix_expr.ts (a test compares the
  # outputs): disko's internal options (`_create`, `_meta`, `_parent`, …) and
  # functions go, `_index` (disko's partition number) stays, paths become strings.
  keep = v: n: (builtins.substring 0 1 n != "_" || n == "_index") && !builtins.isFunction v.${n};
  strip =
    v:
    if builtins.isAttrs v then
      (
        if v ? outPath then
          toString v.outPath
        else
          builtins.listToAttrs (
            map (n: {
              name = n;
              value = strip v.${n};
            }) (builtins.filter (keep v) (builtins.attrNames v))
          )
      )
    else if builtins.isList v then
      map strip v
    else if builtins.isPath v then
      toString v
    else
      v;

  devices =
    if options ? disko && options.disko ? devices then
      config.disko.devices
    else
      throw "services.grapheon.diskoGuard.enable needs disko's NixOS module (imports = [ disko.nixosModules.disko ]) and disko.devices";

  layout = {
    evaluatedBy = "disko";
    diskoVersion = null;
    disko.devices = strip devices;
  };
in
{
  options.services.grapheon.diskoGuard = {
    enable = lib.mkEnableOption ''
      the disk-layout guard: /etc/grapheon/disko.json and a pre-switch check that refuses a
      switch whose disko layout disko would not apply to this machine's disks, or would apply
      destructively (grapheon-tool disko guard)
    '';
    overrideFile = lib.mkOption {
      type = lib.types.str;
      default = "/run/grapheon/disko-override";
      description = ''
        A regular file owned by root whose presence lets the next refused switch go ahead
        (logged, then removed; its text is logged as the reason). In /run, so a reboot
        forgets it. GRAPHEON_DISKO_OVERRIDE=1 in switch-to-configuration's environment does
        the same, where the environment reaches it.
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    environment.etc."grapheon/disko.json".text = builtins.toJSON layout;
    system.preSwitchChecks.grapheon-disko = ''
      PATH="${pkgs.util-linux}/bin:$PATH" \
        ${config.services.grapheon.package}/bin/grapheon-tool disko guard \
        --override-file ${lib.escapeShellArg cfg.overrideFile} -- "''${1-}" "''${2-}"
    '';
  };
}
