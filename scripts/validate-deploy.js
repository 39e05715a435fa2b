#!/usr/bin/env node
// Offline check of the deployment files (`npm run validate:deploy`, run by .ci/run):
//
// - deploy/k8s/*.yaml: every object is validated against the Kubernetes OpenAPI schema of its
//   apiVersion/kind (npm package kubernetes-models: types, required fields, enums; it does not
//   reject unknown fields), then cross-checked: the StatefulSet's serviceName is a headless
//   Service that publishes not-ready addresses, selectors match the pod labels, every Secret
//   key, ServiceAccount, volume, probe port and script referenced exists, the seeds are the
//   StatefulSet's own stable DNS names, every environment variable is one the node reads.
// - docker-compose.yml: exactly the seed's services (web-ui on 3000, node-1..3 with NODE_ID),
//   seeds by service name and port, data on named volumes, health checks, web-ui waiting for
//   healthy nodes. (`docker-compose config -q` checks the file's own schema; .ci/run runs it.)
//
// No cluster and no Docker engine are needed. Exits 1 listing every problem found.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const problems = [];
const notes = [];
const fail = (where, what) => problems.push(`${where}: ${what}`);

// Environment variables the node command reads (src/cli/node-command.ts), checked below to be
// still there, plus those the container scripts read.
const nodeEnv = ['NODE_ID', 'PORT', 'HOST', 'ADVERTISE_HOST', 'PEER_PORT', 'SEEDS', 'DATA_DIR', 'ZONE', 'ADMIN_TOKEN', 'NOSQLDB_ADMIN_TOKEN', 'CLUSTER_SECRET'];
const scriptEnv = ['HEALTHCHECK_URL', 'LEAVE_ON_STOP', 'LEAVE_TIMEOUT_MS', 'POD_NAME', 'POD_NAMESPACE', 'STATEFULSET_NAME'];
const nodeCommand = readFileSync(join(root, 'src/cli/node-command.ts'), 'utf8');
for (const name of nodeEnv) if (!nodeCommand.includes(`'${name}'`)) fail('src/cli/node-command.ts', `no longer reads ${name}, which the deployment files set`);
const knownEnv = new Set([...nodeEnv, ...scriptEnv]);

const subset = (small = {}, big = {}) => Object.entries(small).every(([k, v]) => big[k] === v);

// ------------------------------------------------------------------------------ Kubernetes
const k8sDir = join(root, 'deploy/k8s');
const objects = [];
for (const file of readdirSync(k8sDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
  const text = readFileSync(join(k8sDir, file), 'utf8');
  if (file === 'kustomization.yaml') {
    const k = parse(text);
    for (const r of k.resources ?? []) if (!existsSync(join(k8sDir, r))) fail(file, `resource ${r} does not exist`);
    continue;
  }
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      fail(file, `YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    objects.push({ file, obj });
  }
}

for (const { file, obj } of objects) {
  const where = `${file} ${obj.kind}/${obj.metadata?.name}`;
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
    fail(file, 'an object without apiVersion/kind');
    continue;
  }
  if (!obj.metadata?.name) fail(where, 'metadata.name is missing');
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : [null, obj.apiVersion];
  const modulePath = `kubernetes-models/${group ? `${group}/` : ''}${version}/${obj.kind}`;
  let Model;
  try {
    Model = (await import(modulePath))[obj.kind];
  } catch {
    fail(where, `unknown apiVersion/kind ${obj.apiVersion} ${obj.kind}`);
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    fail(where, `schema: ${e.message}`);
  }
}

const find = (kind, name) => objects.find(({ obj }) => obj.kind === kind && obj.metadata?.name === name)?.obj;
const all = (kind) => objects.filter(({ obj }) => obj.kind === kind).map(({ obj }) => obj);
const sets = all('StatefulSet');
if (sets.length !== 1) fail('deploy/k8s', `expected one StatefulSet, found ${sets.length}`);
for (const sts of sets) {
  const where = `StatefulSet/${sts.metadata.name}`;
  const spec = sts.spec;
  const pod = spec.template;
  const labels = pod.metadata?.labels ?? {};
  if (!subset(spec.selector?.matchLabels, labels) || Object.keys(spec.selector?.matchLabels ?? {}).length === 0) fail(where, 'selector does not match the pod labels');
  const headless = find('Service', spec.serviceName);
  if (!headless) fail(where, `serviceName ${spec.serviceName} is not a Service here`);
  else {
    if (headless.spec.clusterIP !== 'None') fail(`Service/${spec.serviceName}`, 'peer discovery needs a headless Service (clusterIP: None)');
    if (headless.spec.publishNotReadyAddresses !== true) fail(`Service/${spec.serviceName}`, 'needs publishNotReadyAddresses: true, or starting nodes cannot find each other');
  }
  for (const svc of all('Service')) if (!subset(svc.spec.selector, labels) || !svc.spec.selector) fail(`Service/${svc.metadata.name}`, 'selector does not match the StatefulSet pods');
  for (const pdb of all('PodDisruptionBudget')) if (!subset(pdb.spec.selector?.matchLabels, labels)) fail(`PodDisruptionBudget/${pdb.metadata.name}`, 'selector does not match the pods');
  const sa = pod.spec.serviceAccountName;
  if (sa && !find('ServiceAccount', sa)) fail(where, `serviceAccountName ${sa} is not defined here`);
  const roles = all('Role').filter((r) => r.rules.some((rule) => rule.resources?.includes('statefulsets') && rule.verbs?.includes('get') && (rule.resourceNames ?? [sts.metadata.name]).includes(sts.metadata.name)));
  const bound = all('RoleBinding').some((b) => roles.some((r) => r.metadata.name === b.roleRef.name) && b.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === sa));
  if (!bound) fail(where, `service account ${sa} may not get the StatefulSet (the preStop hook needs it)`);

  const volumes = new Set([...(pod.spec.volumes ?? []).map((v) => v.name), ...(spec.volumeClaimTemplates ?? []).map((v) => v.metadata.name)]);
  if ((spec.volumeClaimTemplates ?? []).length === 0) fail(where, 'no volumeClaimTemplates: data would not survive a reschedule');
  for (const c of pod.spec.containers) {
    const cw = `${where} container ${c.name}`;
    const ports = new Map((c.ports ?? []).map((p) => [p.name, p.containerPort]));
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const get = c[probe]?.httpGet;
      if (!get) {
        if (probe !== 'startupProbe') fail(cw, `no ${probe} on /health`);
        continue;
      }
      if (get.path !== '/health') fail(cw, `${probe} checks ${get.path}, not /health`);
      if (typeof get.port === 'string' && !ports.has(get.port)) fail(cw, `${probe} port ${get.port} is not a container port`);
    }
    for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) fail(cw, `volumeMount ${m.name} has no volume`);
    if (!(c.volumeMounts ?? []).some((m) => m.mountPath === '/data')) fail(cw, 'nothing mounted at /data (DATA_DIR)');
    const env = new Map((c.env ?? []).map((e) => [e.name, e]));
    for (const [name, e] of env) {
      if (!knownEnv.has(name)) fail(cw, `env ${name} is read by nothing`);
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) {
        const secret = find('Secret', ref.name);
        if (!secret) notes.push(`${cw}: Secret ${ref.name} is not applied from here (create it: docs/DEPLOY.md)`);
        else if (!(ref.key in { ...secret.data, ...secret.stringData })) fail(cw, `env ${name}: Secret ${ref.name} has no key ${ref.key}`);
      }
    }
    for (const needed of ['ADMIN_TOKEN', 'HOST', 'ADVERTISE_HOST', 'SEEDS', 'DATA_DIR', 'PORT']) if (!env.has(needed)) fail(cw, `env ${needed} is not set`);
    const port = Number(env.get('PORT')?.value);
    if (port !== ports.get('http')) fail(cw, `PORT ${port} is not the container's http port ${ports.get('http')}`);
    if (ports.get('peer') !== port + 1000) fail(cw, `peer port ${ports.get('peer')} is not PORT + 1000`);
    const seedHosts = (env.get('SEEDS')?.value ?? '').split(',').filter(Boolean);
    if (seedHosts.length === 0) fail(cw, 'SEEDS is empty');
    for (const seed of seedHosts) {
      const m = /^([a-z0-9-]+)-(\d+)\.([a-z0-9-]+)\.\$\(POD_NAMESPACE\)\.svc:(\d+)$/.exec(seed);
      if (!m) fail(cw, `seed ${seed} is not <statefulset>-<ordinal>.<service>.$(POD_NAMESPACE).svc:<port>`);
      else if (m[1] !== sts.metadata.name || m[3] !== spec.serviceName || Number(m[2]) >= spec.replicas || Number(m[4]) !== port) fail(cw, `seed ${seed} is not one of this StatefulSet's first ${spec.replicas} pods on port ${port}`);
    }
    if (!/^\$\(POD_NAME\)\.[a-z0-9-]+\./.test(env.get('ADVERTISE_HOST')?.value ?? '') || !env.get('ADVERTISE_HOST').value.startsWith(`$(POD_NAME).${spec.serviceName}.`)) fail(cw, 'ADVERTISE_HOST is not the pod name under the headless Service');
    const commands = [...(c.command ?? []), ...(c.args ?? []), ...(c.lifecycle?.preStop?.exec?.command ?? [])].join(' ');
    for (const script of commands.match(/\b(?:bin|scripts)\/[\w.-]+/g) ?? []) if (!existsSync(join(root, script))) fail(cw, `runs ${script}, which does not exist`);
    if (!c.lifecycle?.preStop) fail(cw, 'no preStop hook: scaling down would not leave the cluster');
  }
}

// ------------------------------------------------------------------------------ Compose
const composeFile = 'docker-compose.yml';
const compose = parse(readFileSync(join(root, composeFile), 'utf8'), { merge: true });
const services = compose.services ?? {};
const names = Object.keys(services).sort();
if (names.join(',') !== 'node-1,node-2,node-3,web-ui') fail(composeFile, `services are ${names.join(', ')}, not exactly web-ui, node-1, node-2, node-3`);
const envOf = (svc) =>
  Array.isArray(svc.environment)
    ? Object.fromEntries(svc.environment.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
    : { ...(svc.environment ?? {}) };
const nodePorts = new Map();
for (const name of names.filter((n) => n.startsWith('node-'))) nodePorts.set(name, envOf(services[name]).PORT);
for (const [name, port] of nodePorts) {
  const svc = services[name];
  const where = `${composeFile} ${name}`;
  const env = envOf(svc);
  const i = name.slice('node-'.length);
  if (svc.build !== '.' && svc.build?.context !== '.') fail(where, 'is not built from .');
  if (env.NODE_ID !== i) fail(where, `NODE_ID is ${env.NODE_ID}, not ${i}`);
  for (const k of Object.keys(env)) if (!knownEnv.has(k)) fail(where, `env ${k} is read by nothing`);
  if (env.ADVERTISE_HOST !== name) fail(where, `ADVERTISE_HOST is ${env.ADVERTISE_HOST}, not the service name`);
  if (env.HOST !== '0.0.0.0') fail(where, 'HOST is not 0.0.0.0 (other containers could not reach it)');
  if (!env.ADMIN_TOKEN) fail(where, 'no ADMIN_TOKEN: a node binding 0.0.0.0 refuses to start without one');
  const seeds = (env.SEEDS ?? '').split(',').filter(Boolean);
  const others = [...nodePorts].filter(([n]) => n !== name).map(([n, p]) => `${n}:${p}`);
  if (seeds.sort().join(',') !== others.sort().join(',')) fail(where, `SEEDS ${env.SEEDS} should be the other nodes by service name: ${others.join(',')}`);
  if (!(svc.ports ?? []).map(String).includes(`${port}:${port}`)) fail(where, `port ${port} is not published`);
  const dataVolume = (svc.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source, v.target])).find(([, target]) => target === env.DATA_DIR);
  if (!dataVolume) fail(where, `nothing mounted at DATA_DIR ${env.DATA_DIR}`);
  else if (!(dataVolume[0] in (compose.volumes ?? {}))) fail(where, `data volume ${dataVolume[0]} is not a named volume`);
  if (!svc.healthcheck?.test) fail(where, 'no healthcheck');
}
const ui = services['web-ui'];
if (ui) {
  const where = `${composeFile} web-ui`;
  if (!(ui.ports ?? []).map(String).includes('3000:3000')) fail(where, 'does not publish 3000:3000');
  const command = (ui.command ?? []).join(' ');
  if (!/^lab --attach /.test(command)) fail(where, 'does not run `lab --attach`');
  for (const [name, port] of nodePorts) {
    if (ui.depends_on?.[name]?.condition !== 'service_healthy') fail(where, `does not wait for ${name} to be healthy`);
    if (!command.includes(`http://${name}:${port}`)) fail(where, `does not attach to http://${name}:${port}`);
  }
  if (!ui.healthcheck?.test) fail(where, 'no healthcheck');
}
if (!existsSync(join(root, 'scripts/healthcheck.js'))) fail('scripts/healthcheck.js', 'missing (Dockerfile, compose health checks)');

for (const n of notes) console.log(`note: ${n}`);
if (problems.length > 0) {
  for (const p of problems) console.error(`invalid: ${p}`);
  console.error(`validate-deploy: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`validate-deploy: ok — ${objects.length} Kubernetes objects (${[...new Set(objects.map((o) => o.obj.kind))].join(', ')}) and ${names.length} compose services`);
