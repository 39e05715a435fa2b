import WebSocket from 'ws';
import { startLabHarness, api } from '../lab/lab-harness.ts';
const h = await startLabHarness({ basePort: 27310, labPort: 23210, web: false });
try {
  const u = h.url;
  console.log('patch', await api(u, 'PATCH', '/api/nodes/n1/kv/tweet/hello', { likes: { $inc: 1 }, text: { $set: 'Hello' } }));
  console.log('local', await api(u, 'GET', '/api/nodes/n2/kv/tweet/hello?local=true'));
  console.log('bad', await api(u, 'GET', '/api/nodes/n2/admin/ring'));
  console.log('list', await api(u, 'GET', '/api/nodes/n2/kv?prefix=tweet/'));
  const ws = new WebSocket(u.replace('http', 'ws') + '/api/demo/live');
  const msgs: any[] = [];
  ws.on('message', (d) => msgs.push(JSON.parse(String(d))));
  await new Promise((r) => ws.on('open', r));
  ws.send(JSON.stringify({ watch: { keys: ['tweet/hello'], reads: [{ key: 'tweet/hello', node: 'n1', r: 2 }], merkle: true } }));
  await new Promise((r) => setTimeout(r, 1500));
  console.log('live', msgs.length, JSON.stringify(msgs.at(-1)).slice(0, 1500));
  console.log('burst', (await api(u, 'POST', '/api/demo/burst', { key: 'tweet/hello', field: 'likes', rate: 40, durationS: 3 })).status);
  for (let i = 0; i < 40; i++) { await new Promise((r) => setTimeout(r, 500)); const b = (await api(u, 'GET', '/api/demo/burst')).json.burst; if (b.phase === 'done') { console.log(JSON.stringify(b)); break; } }
  console.log('cmp', JSON.stringify((await api(u, 'GET', '/api/demo/merkle-compare?a=n1&b=n2&keys=tweet/hello')).json).slice(0, 600));
  console.log('sync', JSON.stringify((await api(u, 'POST', '/api/demo/sync')).json).slice(0, 300));
  ws.close();
} finally { await h.close(); }
