// Runs every GraphQL-over-HTTP server audit of graphql-http against a running server and
// exits non-zero unless all of them pass (a warning or a notice counts as a failure).
//
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}

const audits = serverAudits({ url, fetchFn: fetch });
let passed = 0;
let failed = 0;
for (const audit of audits) {
  const result = await audit.fn();
  if (result.status === 'ok') {
    passed += 1;
    console.log(`ok     ${result.id} ${result.name}`);
  } else {
    failed += 1;
    let body = '';
    try {
      body = (await result.response.text()).slice(0, 300);
    } catch {
      // the audit read the body already
    }
    console.log(`${result.status.padEnd(6)} ${result.id} ${result.name}`);
    console.log(`       ${result.reason}`);
    if (body) console.log(`       response: ${result.response.status} ${body}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed === audits.length ? 0 : 1);
