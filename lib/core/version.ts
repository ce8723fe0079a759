/** The tool's own version (kept in step with deno.json by a test). */

/** grapheon-tool's release version. */
export const TOOL_VERSION = "0.1.0";
