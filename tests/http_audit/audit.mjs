// Run every graphql-http server audit (GraphQL over HTTP spec) against a running server.
//   node audit.mjs URL
// Prints one JSON line per audit: {"id", "name", "status", "reason"}; status is "ok", "warn" (a SHOULD
// failed), "error" (a MUST failed) or "notice" (a MAY failed). Exits 0 whatever the results: judging them
// is the caller's job (tests/test_http_audit.py); it exits 1 only when an audit could not run at all.
import { serverAudits } from "graphql-http";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node audit.mjs URL");
  process.exit(2);
}
// One at a time, in the suite's order: the output is stable and the server sees no burst.
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  let reason = result.reason ?? null;
  if (result.status !== "ok" && result.response) {
    // The reason alone ("Response status code is not 400") does not say what the server answered.
    const body = await result.response.text().catch(() => "");
    const contentType = result.response.headers.get("content-type");
    reason = `${reason} (got ${result.response.status} ${contentType}: ${body.slice(0, 200)})`;
  }
  console.log(JSON.stringify({ id: result.id, name: result.name, status: result.status, reason }));
}
