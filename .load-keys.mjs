// temporary: autocannon with a fresh Idempotency-Key per request (as nginx sends)
import autocannon from 'autocannon';
let n = 0;
const [url, c = '32', d = '10'] = process.argv.slice(2);
autocannon({ url, connections: Number(c), duration: Number(d), requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': `k-${Date.now()}-${n++}` } }) }] }, (err, res) => {
  if (err) throw err;
  console.log(`${res.requests.total} requests in ${res.duration}s, non2xx=${res.non2xx} p99=${res.latency.p99}`);
});
