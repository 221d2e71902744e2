// Preloaded by stryker.config.json's pass only (not by npm test). A test file that still runs
// after 60 s is hung by the mutant under test (the slowest file of that pass takes about 20 s):
// fail it then, as a TAP failure, rather than wait for Stryker's own timeout, which for a mutant
// that every test file covers is about two minutes.
setTimeout(() => {
  process.stdout.write('not ok 1 - stryker-watchdog: this test file ran over 60 s\n');
  process.exit(1);
}, 60_000).unref();
