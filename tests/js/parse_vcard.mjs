// Reads vCard text on stdin and writes ical.js's parse of it (jCard, RFC 7095) as JSON on stdout:
// an independent parser for the interop tests of the CRM's vCard exports.
import ICAL from "ical.js";

let text = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) text += chunk;
process.stdout.write(JSON.stringify(ICAL.parse(text)));
