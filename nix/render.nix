# Pure rendering of grapheon-tool's systemd units from the templates in ../units,
# with builtins only (no nixpkgs), so that tests can evaluate it with
# `nix-instantiate --eval`. It mirrors lib/units.ts and lib/unit_template.ts
# line for line; tests/nix holds both to the same bytes.
#
# settings:    the complete tool config (see settings.nix), as an attrset
# podman, sh:  absolute paths of podman and a POSIX shell
# configPath:  where the tool's config file is (GRAPHEON_TOOL_CONFIG of the upgrade units)
{
  settings,
  podman,
  sh,
  configPath ? "/etc/grapheon/grapheon-tool.json",
  protectHome ? "yes",
  unitsDir ? ../units,
}:
let
  inherit (builtins)
    attrNames
    concatStringsSep
    elemAt
    filter
    fromJSON
    length
    match
    replaceStrings
    split
    ;
  c = settings;
  t = c.timeouts;

  # Values that go into a unit unquoted (lib/unit_template.ts UNIT_SAFE).
  safe = v: match "[A-Za-z0-9_@+=:,./-]+" v != null;
  unitWord =
    field: v:
    if safe v then
      v
    else
      throw "${field}: \"${v}\" cannot go into a systemd unit; use only letters, digits and _@+=:,./-";
  execArg =
    v: if safe v then v else "\"" + replaceStrings [ "\\" "\"" "%" "$" ] [ "\\\\" "\\\"" "%%" "$$" ] v + "\"";

  # Durations as lib/duration.ts reads them ("300s", "2m", "500ms", "1.5s", "90").
  unitMs = {
    ms = 1;
    s = 1000;
    m = 60000;
    h = 3600000;
  };
  durationMs =
    text:
    let
      m = match "[[:space:]]*([0-9]+(\\.[0-9]+)?)[[:space:]]*(ms|s|m|h)?[[:space:]]*" text;
      unit = if m == null || elemAt m 2 == null then "s" else elemAt m 2;
    in
    if m == null then throw "not a duration: ${text}" else fromJSON (elemAt m 0) * unitMs.${unit};
  max = a: b: if a > b then a else b;
  # Seconds, rounded up, at least 1 (lib/unit_template.ts seconds(), after ms() rounding).
  seconds = text: max 1 (builtins.ceil (builtins.floor (durationMs text + 0.5) / 1000.0));

  # TimeoutStartSec of the upgrade units; the formula is documented in docs/install.md.
  upgradeTimeout =
    2 * (t.pullRetries + 1) * seconds t.pull
    + (if c.canary.enabled then seconds t.canary else 0)
    + 2 * (2 * seconds t.restart + seconds t.health)
    + 300;
  seedTimeout = 2 * seconds t.pull + 60;

  # The template language: @NAME@ replaced; a line that is only an empty placeholder dropped.
  render =
    template: values:
    let
      text = builtins.readFile (unitsDir + "/${template}");
      names = attrNames values;
      used = n: length (split "@${n}@" text) > 1;
      unused = filter (n: !(used n)) names;
      empties = filter (n: values.${n} == "") names;
      dropped = replaceStrings (map (n: "\n@${n}@\n") empties) (map (_: "\n") empties) text;
      out = replaceStrings (map (n: "@${n}@") names) (map (n: values.${n}) names) dropped;
      left = filter builtins.isList (split "@([A-Z][A-Z0-9_]*)@" out);
    in
    if unused != [ ] then
      throw "units/${template}: does not use @${concatStringsSep "@, @" unused}@"
    else if left != [ ] then
      throw "units/${template}: no value for @${concatStringsSep "@, @" (map (l: elemAt l 0) left)}@"
    else
      out;

  podmanW = unitWord "commands.podman (resolved)" podman;

  # lib/config/config.ts networkGateway: the subnet's first address.
  gateway =
    let
      octets = split "\\." (elemAt (split "/" c.networkSubnet) 0);
      o = i: elemAt octets (2 * i);
    in
    "${o 0}.${o 1}.${o 2}.${toString (fromJSON (o 3) + 1)}";
  socketUnit = service: replaceStrings [ ".service" ] [ ".socket" ] service;
  bridge = {
    socket = "grapheon-backend-bridge.socket";
    service = "grapheon-backend-bridge.service";
  };
  # lib/install/units.ts needsBridge, frontendSocketActivated, backendListen.
  needsBridge =
    c.network != "host"
    && !(
      builtins.elem c.backend.bindAddress [
        ""
        "0.0.0.0"
        "[::]"
      ]
      && c.backend.port == c.backend.containerPort
    );
  frontendSocket = c.frontend.bindAddress == "" && c.frontend.port == c.frontend.containerPort;
  backendListen =
    if c.backend.bindAddress != "" then
      "${c.backend.bindAddress}:${toString c.backend.port}"
    else
      toString c.backend.port;
  nginxEnv = "-e ${execArg "NGINX=3;"}";

  networkArgs =
    side:
    let
      f = c.frontend;
      publish =
        if f.bindAddress != "" then
          "${f.bindAddress}:${toString f.port}:${toString f.containerPort}"
        else
          "${toString f.port}:${toString f.containerPort}";
      reach = "--network=${c.network} --add-host=${c.backend.container}:${gateway}";
    in
    if c.network == "host" then
      (if side == "frontend" && frontendSocket then "--network=host ${nginxEnv}" else "--network=host")
    else if side == "backend" then
      "--network=${c.network}"
    else if frontendSocket then
      "${reach} ${nginxEnv}"
    else
      "${reach} -p ${publish}";

  envArgs =
    side:
    let
      env = c.${side}.environment;
      files = [ (unitWord "envFile" c.envFile) ] ++ map (unitWord "${side}.envFiles") c.${side}.envFiles;
    in
    concatStringsSep " " (
      map (f: "--env-file=${f}") files ++ map (k: "-e ${execArg "${k}=${env.${k}}"}") (attrNames env)
    );

  containerValues =
    side:
    {
      CONTAINER = c.${side}.container;
      IMAGE = c.${side}.image;
      RUN_TAG = c.runTag;
      START_TIMEOUT = "${toString (seconds t.restart)}s";
      STOP_SECONDS = toString (seconds t.stop);
      STOP_TIMEOUT = "${toString (seconds t.stop + 15)}s";
      PODMAN = podmanW;
      ENV_ARGS = envArgs side;
      NETWORK_ARGS = networkArgs side;
    }
    // (
      if side == "backend" then
        {
          DATA_DIR = unitWord "dataDir" c.dataDir;
          CONTAINER_DATA_DIR = unitWord "backend.containerDataDir" c.backend.containerDataDir;
          SOCKET = socketUnit c.backend.service;
        }
      else
        let
          bridgeSocket = if needsBridge then [ bridge.socket ] else [ ];
          socket = socketUnit c.frontend.service;
        in
        {
          WANTS = concatStringsSep " " ([ c.backend.service ] ++ bridgeSocket);
          # After the backend's sockets, not its service (lib/install/units.ts says why).
          AFTER = concatStringsSep " " (
            [ (socketUnit c.backend.service) ] ++ bridgeSocket ++ (if frontendSocket then [ socket ] else [ ])
          );
          REQUIRES = if frontendSocket then "Requires=${socket}" else "";
        }
    );

  upgradeValues = {
    BACKEND_SERVICE = c.backend.service;
    FRONTEND_SERVICE = c.frontend.service;
    DATA_DIR = unitWord "dataDir" c.dataDir;
    STATE_DIR = unitWord "stateDir" c.stateDir;
    CONFIG_PATH = unitWord "config path" configPath;
    BIN_PATH = unitWord "binPath" c.binPath;
    UPGRADE_TIMEOUT = "${toString upgradeTimeout}s";
    PROTECT_HOME = protectHome;
  };

  unit = name: template: group: enable: values: {
    inherit name template group enable;
    text = render template values;
  };
in
rec {
  inherit upgradeTimeout seedTimeout;
  requestPath = "${unitWord "dataDir" c.dataDir}/upgrade-requested";
  # In the order lib/units.ts renders them.
  units = [
    (unit "grapheon-images.service" "grapheon-images.service" "containers" "now" {
      SH = unitWord "shell path" sh;
      PODMAN = podmanW;
      RUN_TAG = c.runTag;
      BACKEND_SERVICE = c.backend.service;
      FRONTEND_SERVICE = c.frontend.service;
      BACKEND_IMAGE = c.backend.image;
      FRONTEND_IMAGE = c.frontend.image;
      BACKEND_SEED_TAG = c.backend.seedTag;
      FRONTEND_SEED_TAG = c.frontend.seedTag;
      SEED_TIMEOUT = "${toString seedTimeout}s";
      NETWORK_PRE =
        if c.network == "host" then
          ""
        else
          "ExecStartPre=-${podmanW} network create --subnet=${c.networkSubnet} ${c.network}";
    })
    (unit (socketUnit c.backend.service) "grapheon-backend.socket" "containers" "now" {
      LISTEN = backendListen;
    })
    (unit c.backend.service "grapheon-backend.service" "containers" "now" (containerValues "backend"))
  ]
  ++ (
    if needsBridge then
      [
        (unit bridge.socket bridge.socket "containers" "now" {
          LISTEN = "${gateway}:${toString c.backend.containerPort}";
        })
        (unit bridge.service bridge.service "containers" "no" {
          PROXYD = unitWord "commands.socketProxyd" c.commands.socketProxyd;
          TARGET = backendListen;
        })
      ]
    else
      [ ]
  )
  ++ (
    if frontendSocket then
      [
        (unit (socketUnit c.frontend.service) "grapheon-frontend.socket" "containers" "now" {
          LISTEN = "0.0.0.0:${toString c.frontend.port}";
        })
      ]
    else
      [ ]
  )
  ++ [
    (unit c.frontend.service "grapheon-frontend.service" "containers" "now" (
      containerValues "frontend"
    ))
    (unit "grapheon-upgrade.path" "grapheon-upgrade.path" "upgrade" "now" {
      REQUEST_PATH = requestPath;
    })
    (unit "grapheon-upgrade.service" "grapheon-upgrade.service" "upgrade" "no" upgradeValues)
    (unit "grapheon-upgrade-recover.service" "grapheon-upgrade-recover.service" "upgrade" "boot"
      upgradeValues
    )
  ];
  byName = builtins.listToAttrs (map (u: { inherit (u) name; value = u; }) units);
}
