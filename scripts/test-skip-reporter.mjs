// A node:test reporter that writes one JSON line per skipped test ({ file, name, reason }) to
// its destination; scripts/test.mjs passes it beside the visible reporter and reads the file
// back for the one summary line at the end of `npm test` (and, under CI, to fail on any skip).
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, name, file } = event.data;
    // --test-name-pattern's own skips are the caller's choice, not a missing requirement.
    if (skip === undefined || skip === false || skip === 'test name does not match pattern') continue;
    yield `${JSON.stringify({ file: file ?? '', name, reason: typeof skip === 'string' ? skip : 'skipped' })}\n`;
  }
}
