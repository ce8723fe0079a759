# NixOS module services.grapheon: the Graphēon backend and frontend as Podman
# containers under systemd, plus grapheon-tool's upgrade automation. The units
# are rendered from the same templates (../units) that `grapheon-tool install`
# writes on other distributions (render.nix), so both deployments run the same
# units; the tool's config comes from settings.nix.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkEnableOption mkIf mkOption types;
  cfg = config.services.grapheon;
  configPath = "/etc/grapheon/grapheon-tool.json";

  podman = config.virtualisation.podman.package;
  settings = import ./settings.nix {
    inherit cfg;
    inherit (cfg) package;
    commands = {
      podman = "${podman}/bin/podman";
      systemctl = "${config.systemd.package}/bin/systemctl";
      journalctl = "${config.systemd.package}/bin/journalctl";
      df = "${pkgs.coreutils}/bin/df";
      lsblk = "${pkgs.util-linux}/bin/lsblk";
      findmnt = "${pkgs.util-linux}/bin/findmnt";
      nix = "${config.nix.package}/bin/nix";
      nixInstantiate = "${config.nix.package}/bin/nix-instantiate";
      # iproute2's makeFlags put its programs in sbin (SBINDIR=$(out)/sbin).
      ip = "${pkgs.iproute2}/sbin/ip";
      socketProxyd = "${config.systemd.package}/lib/systemd/systemd-socket-proxyd";
    };
  };
  rendered = import ./render.nix {
    inherit settings configPath;
    podman = "${podman}/bin/podman";
    sh = pkgs.runtimeShell;
  };
  wanted = u: u.group == "containers" || cfg.upgrade.enable;
  units = builtins.filter wanted rendered.units;

  sideOptions = name: image: port: {
    image = mkOption {
      type = types.str;
      default = image;
      description = "The ${name} image, without a tag.";
    };
    tag = mkOption {
      type = types.str;
      default = "latest";
      example = "v0.10.4";
      description = ''
        The release pulled and tagged as the local run tag (settings.runTag, "current") on
        first start, when that tag does not exist yet. Later upgrades move the run tag
        (grapheon-tool upgrade, or the web UI's upgrade button); changing this option does
        not upgrade a running host.
      '';
    };
    port = mkOption {
      type = types.port;
      default = port;
      description = "Host port the ${name} is published on.";
    };
    environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "Extra environment variables for the ${name} container (not secrets: they end up in the Nix store).";
    };
    environmentFiles = mkOption {
      type = types.listOf types.path;
      default = [ ];
      example = [ "/run/secrets/grapheon.env" ];
      description = "Files of KEY=value lines passed to podman with --env-file (secrets such as JWT_SECRET).";
    };
  };
in
{
  imports = [ ./disko_guard.nix ];
  options.services.grapheon = {
    enable = mkEnableOption "Graphēon (backend and frontend containers under systemd)";
    package = mkOption {
      type = types.package;
      description = "The grapheon-tool package (the flake's nixosModules.default sets it).";
    };
    dataDir = mkOption {
      type = types.str;
      default = "/var/lib/grapheon/data";
      description = "Host data directory (network.db, backups, uploads), mounted in the backend.";
    };
    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the frontend port in the firewall.";
    };
    backend = sideOptions "backend" "ghcr.io/badgerops/grapheon-backend" 8000;
    frontend = sideOptions "frontend" "ghcr.io/badgerops/grapheon-frontend" 8080;
    upgrade = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Upgrade on request from the web UI (grapheon-upgrade.path) and recover interrupted upgrades at boot.";
      };
      settings = mkOption {
        # nixpkgs' JSON value type: definitions from several modules merge key by key
        # (two modules may set different timeouts.*), lists from several modules
        # concatenate, mkDefault/mkIf/mkForce work at any depth. settings.nix then
        # merges the result over the generated config the same way, key by key.
        type = (pkgs.formats.json { }).type;
        default = { };
        example = {
          timeouts.health = "60s";
          backups.keep = 10;
        };
        description = "grapheon-tool settings merged over the generated ones (see `grapheon-tool config`).";
      };
    };
  };

  config = mkIf cfg.enable {
    virtualisation.podman.enable = true;
    environment.systemPackages = [ cfg.package ];
    # Checked at build time by the tool itself: a bad upgrade.settings value fails the
    # rebuild instead of the next upgrade.
    environment.etc."grapheon/grapheon-tool.json".source =
      pkgs.runCommand "grapheon-tool.json"
        {
          json = builtins.toJSON settings;
          passAsFile = [ "json" ];
        }
        ''
          ${cfg.package}/bin/grapheon-tool config --check "$jsonPath"
          cp "$jsonPath" "$out"
        '';
    systemd.tmpfiles.rules = [
      "d ${settings.dataDir} 0755 root root -"
      "d ${settings.stateDir} 0700 root root -"
      "f ${settings.envFile} 0600 root root -"
    ];
    systemd.units = builtins.listToAttrs (
      map (u: {
        inherit (u) name;
        value = {
          inherit (u) text;
          # As the templates' [Install] sections: sockets by sockets.target.
          wantedBy =
            if u.enable == "no" then
              [ ]
            else if lib.hasSuffix ".socket" u.name then
              [ "sockets.target" ]
            else
              [ "multi-user.target" ];
        };
      }) units
    );
    networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall [ cfg.frontend.port ];
    # The frontend's nginx reaches the backend on the container network's gateway (the
    # backend's socket there, units/grapheon-backend-bridge.socket): the host's firewall must
    # let that in from the network's bridge (netavark names rootful bridges podmanN).
    networking.firewall.interfaces."podman+".allowedTCPPorts = mkIf (settings.network != "host") [
      settings.backend.containerPort
    ];
  };
}
