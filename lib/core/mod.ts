/** The public face of lib/core: what the rest of the tool uses of it. */
export {
  type AppVersion,
  appVersionSchema,
  compareAppVersions,
  parseAppVersion,
  versionedRef,
} from "./app_version.ts";
export { type Component, COMPONENTS } from "./components.ts";
export { durationSchema, formatDuration, ms, parseDuration } from "./duration.ts";
export {
  BusyError,
  CommandError,
  ConfigError,
  errorMessage,
  InputError,
  ToolError,
  UnsafePathError,
  UsageError,
} from "./errors.ts";
export { EXIT, EXIT_CODE_HELP, type ExitCode } from "./exit_codes.ts";
export { parseJson } from "./json.ts";
export { linesForTerminal } from "./untrusted_text.ts";
export { TOOL_VERSION } from "./version.ts";
