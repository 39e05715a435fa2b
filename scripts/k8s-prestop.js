#!/usr/bin/env node
// Kubernetes preStop hook of the nosql-db StatefulSet (deploy/k8s/statefulset.yaml).
//
// A pod stops for two very different reasons: it is being restarted (rolling update, node
// drain, eviction) and will come back on its volume with the same id, or the StatefulSet was
// scaled down and its ordinal is gone for good. Only in the second case should the node leave
// the cluster, handing its partitions over; a restarting node that left would hand over all its
// data and take it all back minutes later. So this hook asks the API server for the
// StatefulSet's replica count (the pod's service account may `get` it: deploy/k8s/rbac.yaml)
// and leaves only when this pod's ordinal is at or above it, then waits for the handoff.
//
// LEAVE_ON_STOP=scale-down (default) | always | never. Without API access it does not leave
// (safe: the node is then seen down and a later `POST /admin/leave` or restart settles it).
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

const port = process.env.PORT || '7001';
const base = `http://127.0.0.1:${port}`;
const token = process.env.ADMIN_TOKEN || process.env.NOSQLDB_ADMIN_TOKEN || '';
const mode = process.env.LEAVE_ON_STOP || 'scale-down';
const deadline = Date.now() + Number(process.env.LEAVE_TIMEOUT_MS || 100_000);
const podName = process.env.POD_NAME || process.env.HOSTNAME || '';
const log = (m) => console.log(`prestop ${podName}: ${m}`);

function statefulSetReplicas() {
  const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
  const ns = readFileSync(`${sa}/namespace`, 'utf8').trim();
  const bearer = readFileSync(`${sa}/token`, 'utf8').trim();
  const ca = readFileSync(`${sa}/ca.crt`);
  const set = process.env.STATEFULSET_NAME || podName.replace(/-\d+$/, '');
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const apiPort = process.env.KUBERNETES_SERVICE_PORT || '443';
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port: apiPort, path: `/apis/apps/v1/namespaces/${ns}/statefulsets/${set}`, ca, headers: { authorization: `Bearer ${bearer}` }, timeout: 5000 },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body).spec.replicas) : reject(new Error(`API server answered ${res.statusCode}`))));
      },
    );
    req.on('timeout', () => req.destroy(new Error('API server timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function shouldLeave() {
  if (mode === 'always') return true;
  if (mode === 'never') return false;
  const ordinal = Number(/-(\d+)$/.exec(podName)?.[1]);
  if (!Number.isInteger(ordinal)) return false;
  try {
    const replicas = await statefulSetReplicas();
    log(`ordinal ${ordinal}, StatefulSet replicas ${replicas}`);
    return ordinal >= replicas;
  } catch (e) {
    log(`cannot read the StatefulSet (${e.message}); not leaving`);
    return false;
  }
}

async function admin(method, path) {
  const res = await fetch(`${base}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}`);
  return res.json();
}

if (!(await shouldLeave())) {
  log('restart, not a scale-down: keeping membership (the node comes back on its volume)');
  process.exit(0);
}
log('scaled away: POST /admin/leave');
await admin('POST', '/admin/leave');
while (Date.now() < deadline) {
  try {
    const s = await admin('GET', '/admin/status');
    const me = s.members.find((m) => m.id === s.id);
    if (me?.status === 'left' || (s.partitions.length === 0 && !s.handoff?.active)) {
      log('left the cluster, partitions handed over');
      process.exit(0);
    }
  } catch (e) {
    log(`status: ${e.message}`);
  }
  await new Promise((r) => setTimeout(r, 1000));
}
log('handoff did not finish before the deadline; stopping anyway (replicas on other nodes remain)');
process.exit(0);
