/** The public face of lib/health: what the rest of the tool uses of it. */
export {
  type Attempt,
  healthBodySchema,
  type HealthExpectation,
  pollHealth,
  type PollResult,
} from "./poll.ts";
