import assert from "node:assert/strict";
import { jsonText } from "../../lib/cli/command.ts";

Deno.test("jsonText: C1 controls and bidi overrides are escaped; the document is unchanged JSON", () => {
  const value = { message: "a\u009b31mred\u202eevil\u001b[0m", n: 1 };
  const text = jsonText(value);
  const raw = [...text].filter((c) => {
    const n = c.charCodeAt(0);
    return (n < 0x20 && c !== "\n") || (n >= 0x80 && n <= 0x9f) || (n >= 0x202a && n <= 0x202e);
  });
  assert.deepEqual(raw, []);
  assert.deepEqual(JSON.parse(text), value);
});
