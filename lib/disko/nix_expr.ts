/**
 * The Nix expressions the tool evaluates, as constants: what the tool passes in
 * (file, disko and nixpkgs-lib directories) reaches them through environment
 * variables, never inside Nix source, so no path can inject code.
 *
 * With disko (and nixpkgs' lib) the layout is evaluated exactly as disko's NixOS
 * module declares it (`options.disko.devices` of type `diskoLib.toplevel`,
 * disko's module.nix): disko's own types give the defaults (labels, priorities,
 * type codes, partition numbers) and reject what disko rejects. Without disko
 * the file is evaluated as plain Nix (through nixpkgs' module system when lib is
 * there, so `mkDefault`/`mkIf`/`mkMerge` resolve as NixOS resolves them).
 *
 * STRIP_EXPR removes what is not data: disko's internal options (`_create`,
 * `_meta`, `_parent`, `_config`, `_pkgs`, …; all start with `_`) and functions,
 * but keeps `_index`, the partition number disko itself computes. Paths become
 * strings (never copied into the store) and derivations their store paths.
 * nix/disko_guard.nix has the same function for the layout it installs; a test
 * compares the two outputs.
 */

/** Environment variable with the layout file's absolute path. */
export const FILE_ENV = "GRAPHEON_DISKO_FILE";
/** Environment variable with disko's directory (empty: `<disko>` if on the search path). */
export const DISKO_ENV = "GRAPHEON_EVAL_DISKO";
/** Environment variable with nixpkgs' `lib` directory (empty: `<nixpkgs/lib>`). */
export const LIB_ENV = "GRAPHEON_EVAL_NIXPKGS_LIB";

/** Marker in the error of a layout that asks for arguments nobody can give. */
export const MISSING_MARKER = "grapheon-disko-missing-args:";

/** Removes internal attributes and functions from an evaluated `disko.devices`; no lib needed. */
export const STRIP_EXPR = `let
  keep = v: n: (builtins.substring 0 1 n != "_" || n == "_index") && !builtins.isFunction v.\${n};
  strip = v:
    if builtins.isAttrs v then
      (if v ? outPath then toString v.outPath
       else builtins.listToAttrs (map (n: { name = n; value = strip v.\${n}; })
         (builtins.filter (keep v) (builtins.attrNames v))))
    else if builtins.isList v then map strip v
    else if builtins.isPath v then toString v
    else v;
in strip`;

/**
 * Evaluates the file named by FILE_ENV to `{ evaluatedBy, diskoVersion, devices }`:
 * with disko when DISKO_ENV names it or `<disko>` resolves (and lib is there),
 * else as plain Nix. A function gets what NixOS would give a module (`lib`,
 * `config`, `options`; its defaults stay); anything else is named in an error
 * that carries MISSING_MARKER.
 */
export const FILE_EXPR = `let
  getEnv = builtins.getEnv;
  file = /. + getEnv "${FILE_ENV}";
  libDir = getEnv "${LIB_ENV}";
  diskoDir = getEnv "${DISKO_ENV}";
  libTry = if libDir != "" then { success = true; value = import (/. + libDir); }
    else builtins.tryEval (import <nixpkgs/lib>);
  diskoTry = if diskoDir != "" then { success = true; value = /. + diskoDir; }
    else builtins.tryEval <disko>;
  hasLib = libTry.success;
  lib = libTry.value;
  useDisko = diskoTry.success && hasLib;
  strip = ${STRIP_EXPR.replaceAll("\n", "\n  ")};
  value = import file;
  isFn = builtins.isFunction value;
  args = if isFn then builtins.functionArgs value else { };
  givable = if useDisko || hasLib then [ "lib" "config" "options" ] else [ "lib" ];
  canGive = n: builtins.elem n givable && (n != "lib" || hasLib);
  missing = builtins.filter (n: !args.\${n} && !(canGive n)) (builtins.attrNames args);
  kinds = [ "disk" "nodev" "lvm_vg" "mdadm" "zpool" "bcachefs_filesystems" ];
  isBare = r: builtins.isAttrs r && !(r ? disko) && !(r ? _type)
    && builtins.any (k: r ? \${k}) kinds;
  asModule = r: if isBare r then { disko.devices = r; } else r;
  devicesType = if useDisko then
      (import (diskoTry.value + "/lib") {
        inherit lib; makeTest = null; eval-config = null; qemu-common = null;
      }).toplevel
    else lib.types.anything;
  evaluated = (lib.evalModules {
    modules = [
      {
        freeformType = lib.types.lazyAttrsOf lib.types.raw;
        options.disko.devices = lib.mkOption { type = devicesType; default = { }; };
      }
      {
        _file = file;
        imports = [ (margs: asModule (if isFn then value (builtins.intersectAttrs args margs) else value)) ];
      }
    ];
  }).config.disko.devices;
  plain = let r = if isFn then value (if hasLib && args ? lib then { inherit lib; } else { }) else value;
    in if builtins.isAttrs r && r ? disko && r.disko ? devices then r.disko.devices else r;
  versionFile = diskoTry.value + "/version.nix";
in
  if missing != [ ] then
    throw "${MISSING_MARKER} \${builtins.concatStringsSep " " missing}"
  else {
    evaluatedBy = if useDisko then "disko" else "nix";
    diskoVersion = if useDisko && builtins.pathExists versionFile
      then (import versionFile).version or null else null;
    devices = strip (if useDisko || hasLib then evaluated else plain);
  }`;
