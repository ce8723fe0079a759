# What the stand-ins hold, as the dotted paths nixpkgs_stubs.json lists them:
# `pkgs` (stub_pkgs.nix: derivations, functions and values; the attributes every
# derivation has, type/outPath/name/pname, are not listed; entries the list marks
# `real` are not entered), `options` (nixos_options.nix: every declared option,
# sub-options of submodules as <name>), `flake` (stub_nixpkgs_flake.nix: what it
# adds to nixpkgs' lib, and its other outputs). tests/nix/stub_audit_test.ts
# compares this with the list both ways.
{
  nixpkgsLib ? ../../../shared/nixpkgs-lib/lib,
  listFile ? ./nixpkgs_stubs.json,
}:
let
  lib = import nixpkgsLib;
  list = builtins.fromJSON (builtins.readFile listFile);
  isReal = section: path: (list.${section}.${path} or { }).real or false;
  join = prefix: name: if prefix == "" then name else "${prefix}.${name}";
  standard = [
    "type"
    "outPath"
    "name"
    "pname"
  ];

  walkPkgs =
    prefix: v:
    if prefix != "" && isReal "pkgs" prefix then
      [ prefix ]
    else if lib.isDerivation v then
      [ prefix ] ++ walkAttrs prefix (removeAttrs v standard)
    else if builtins.isAttrs v then
      walkAttrs prefix v
    else
      [ prefix ];
  walkAttrs = prefix: v: lib.concatMap (n: walkPkgs (join prefix n) v.${n}) (builtins.attrNames v);

  pkgs = import ./stub_pkgs.nix {
    inherit lib;
    system = "x86_64-linux";
  };
  declared =
    (lib.evalModules {
      modules = [
        ./nixos_options.nix
        { _module.args.pkgs = pkgs; }
      ];
    }).options;
  walkOptions =
    opts:
    lib.concatMap (
      n:
      let
        o = opts.${n};
      in
      if lib.hasPrefix "_" n then
        [ ]
      else if lib.isOption o then
        [ (builtins.concatStringsSep "." o.loc) ] ++ walkOptions (o.type.getSubOptions o.loc)
      else
        walkOptions o
    ) (builtins.attrNames opts);

  flake = import ./stub_nixpkgs_flake.nix { inherit lib; };
in
{
  pkgs = walkPkgs "" pkgs;
  options = walkOptions declared;
  flake = [
    "lib"
  ]
  # lib.extend adds __unfix__ (lib/fixed-points.nix, makeExtensible), as it does in nixpkgs.
  ++ map (n: "lib.${n}") (
    builtins.filter (n: !lib.hasPrefix "__" n) (
      builtins.attrNames (removeAttrs flake.lib (builtins.attrNames lib))
    )
  )
  ++ builtins.attrNames (removeAttrs flake [ "lib" ]);
}
