// Preloaded by stryker.config.json's pass only (not by npm test). A test file that runs far longer
// than it ever does is hung by the mutant under test: fail it then, as a TAP failure, rather than
// wait for Stryker's own timeout, which for a mutant that every test file covers is about two
// minutes. Unit test files take at most 3 s, integration files at most about 20 s (this pass).
const file = process.argv.find((arg) => arg.endsWith('.test.ts')) ?? '';
const limitSeconds = file.includes('test/unit/') ? 20 : 60;
setTimeout(() => {
  process.stdout.write(`not ok 1 - stryker-watchdog: ${file} ran over ${limitSeconds} s\n`);
  process.exit(1);
}, limitSeconds * 1000).unref();
