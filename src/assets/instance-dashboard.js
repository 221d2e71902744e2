// The operator's dashboard, live: asks /instance (same credentials as the page) every 2 s and
// redraws the figures and tables the server rendered first.
const numbers = new Intl.NumberFormat('en-US');
const live = document.getElementById('live');

const cell = (text, className) => {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
};

const replicaRow = (replica) => {
  const row = document.createElement('tr');
  row.dataset.replica = replica.name;
  const name = document.createElement('th');
  name.scope = 'row';
  const code = document.createElement('code');
  code.textContent = replica.name;
  name.append(code);
  const share = cell('');
  const meter = document.createElement('meter');
  meter.min = 0;
  meter.max = 1;
  meter.value = replica.share;
  meter.setAttribute('aria-label', `share of ${replica.name}`);
  share.append(meter, ` ${Math.round(replica.share * 100)} %`);
  row.append(name, cell(`${replica.secondsSinceReport} s ago`, 'num'), cell(numbers.format(replica.lastMinute), 'num'), share, cell(numbers.format(replica.lastFiveMinutes), 'num'));
  return row;
};

const busiestRow = ({ path, hits }) => {
  const row = document.createElement('tr');
  const link = document.createElement('a');
  link.href = `/dashboard/${path}`;
  link.textContent = path;
  const name = cell('');
  name.append(link);
  row.append(name, cell(numbers.format(hits), 'num'));
  return row;
};

const setText = (id, text) => {
  const element = document.getElementById(id);
  if (element.textContent !== text) element.textContent = text;
};

const render = (summary) => {
  setText('replica-count', String(summary.replicas.length));
  setText('rps', summary.requestsPerSecond.toLocaleString('en-US'));
  setText('memory', summary.redis.usedMemory);
  document.querySelector('#replicas tbody').replaceChildren(...summary.replicas.map(replicaRow));
  const busiest = summary.busiest.length > 0 ? summary.busiest.map(busiestRow) : [Object.assign(document.createElement('tr'), { innerHTML: '<td colspan="2" class="muted">No hits yet today.</td>' })];
  document.querySelector('#busiest tbody').replaceChildren(...busiest);
  const { redis } = summary;
  setText('redis-memory', `${redis.usedMemory} / ${redis.maxMemory} (${redis.maxMemoryPolicy})`);
  setText('redis-aof', `${redis.appendOnly ? 'on' : 'off'}, fsync ${redis.appendFsync}${redis.aofRewriteInProgress ? ', rewriting now' : ''}`);
  setText('redis-rewrite', redis.lastAofRewrite);
  setText('redis-write', redis.lastAofWrite);
  setText('redis-save', redis.lastSave);
};

const poll = async () => {
  try {
    const answer = await fetch('/instance', { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (!answer.ok) throw new Error(String(answer.status));
    render(await answer.json());
    live.dataset.state = 'live';
    live.textContent = 'Live: refreshed every 2 seconds.';
  } catch {
    live.dataset.state = 'static';
    live.textContent = 'Live updates paused; retrying…';
  }
  setTimeout(poll, 2000);
};
poll();
