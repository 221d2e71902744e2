// Preloaded into the server process by a test (node --import): SIGUSR2 throws an error nothing
// catches, the way a bug in a callback would, so the test can watch the server's uncaught-error path.
process.on('SIGUSR2', () => {
  throw new Error('planted by the test');
});
