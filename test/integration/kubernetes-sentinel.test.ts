// deploy/kubernetes/components/sentinel (overlays/sentinel-load-balancer): Redis with Sentinel as
// StatefulSets, rendered by the real kustomize, every object validated strictly against the
// Kubernetes API's schemas, and what the component promises checked on the rendered objects (the
// pods' own start commands run here with sh). Kubernetes itself cannot run here: validated, not run.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import {
  HA_PASSWORD_FILES,
  allows,
  kubernetesValidator,
  kustomizeBuild,
  manifestsCopy,
  selects,
  type KubernetesObject,
  type Labels,
  type NetworkPolicy,
  type Selector,
  type Source,
  type Validate,
} from '../helpers/kubernetes.ts';
import { run } from '../helpers/run.ts';

interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
interface Container {
  name: string; image: string; command?: string[]; args?: string[]; ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[]; envFrom?: { configMapRef?: { name: string } }[]; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: Record<string, unknown> & { capabilities?: unknown; seccompProfile?: { type: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface Volume { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }
interface Workload extends KubernetesObject {
  spec: {
    replicas?: number; serviceName?: string; selector: Selector;
    template: { metadata: { labels: Labels }; spec: { containers: Container[]; volumes?: Volume[]; automountServiceAccountToken?: boolean; enableServiceLinks?: boolean; securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } } } };
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
}
type Secret = KubernetesObject & { data: Record<string, string> };

const OVERLAY = 'sentinel-load-balancer';
const NAMESPACE = 'visit-counter';
const PASSWORD = 'a-test-password-made-by-the-test';

const workloads = (objects: KubernetesObject[]): Workload[] =>
  objects.filter((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet') as Workload[];
const component = (each: Workload): string => each.spec.template.metadata.labels['app.kubernetes.io/component'] ?? '';
const workload = (objects: KubernetesObject[], name: string): Workload =>
  workloads(objects).find((each) => component(each) === name) ?? assert.fail(`no workload of ${name}`);
const container = (objects: KubernetesObject[], name: string): Container =>
  workload(objects, name).spec.template.spec.containers.find((each) => each.name === name) ?? assert.fail(`no container ${name}`);
const find = (objects: KubernetesObject[], kind: string, name: string): KubernetesObject | undefined =>
  objects.find((object) => object.kind === kind && object.metadata.name === name);

/**
 * A container's environment in one pod, as the kubelet makes it: its ConfigMaps, then env in
 * order, metadata.name and metadata.namespace from the pod, `$(NAME)` replaced by a variable
 * defined before it.
 */
const podEnvironment = (objects: KubernetesObject[], of: Container, pod: string): Record<string, string> => {
  const result: Record<string, string> = {};
  for (const source of of.envFrom ?? []) {
    const configMap = find(objects, 'ConfigMap', source.configMapRef?.name ?? '') as (KubernetesObject & { data: Record<string, string> }) | undefined;
    Object.assign(result, configMap?.data ?? assert.fail(`envFrom ${JSON.stringify(source)}`));
  }
  const fields: Record<string, string> = { 'metadata.name': pod, 'metadata.namespace': NAMESPACE };
  for (const variable of of.env ?? []) {
    const field = variable.valueFrom?.fieldRef?.fieldPath;
    const value = field === undefined ? variable.value : fields[field];
    assert.ok(value !== undefined, `${variable.name} has a value`);
    result[variable.name] = value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => result[name] ?? whole);
  }
  return result;
};

/** The Secret key a file path in the container holds (its volume's Secret, or its items). */
const secretKeyAt = (objects: KubernetesObject[], of: Workload, path: string): { secret: Secret; key: string } => {
  const [spec] = of.spec.template.spec.containers;
  const mount = spec?.volumeMounts?.find((each) => path.startsWith(`${each.mountPath}/`)) ?? assert.fail(`nothing mounted at ${path}`);
  assert.equal(mount.readOnly, true, `${path} is mounted read-only`);
  const volume = of.spec.template.spec.volumes?.find((each) => each.name === mount.name);
  assert.ok(volume?.secret, `${path} is a Secret`);
  const file = path.slice(mount.mountPath.length + 1);
  const key = volume.secret.items ? volume.secret.items.find((item) => item.path === file)?.key : file;
  const secret = find(objects, 'Secret', volume.secret.secretName) as Secret | undefined;
  assert.ok(secret && key !== undefined && key in secret.data, `${path}: key ${key} of Secret ${volume.secret.secretName}`);
  return { secret, key };
};
const secretText = ({ secret, key }: { secret: Secret; key: string }): string =>
  Buffer.from(secret.data[key] ?? '', 'base64').toString().trimEnd();

/** A stable pod name: POD.SERVICE.NAMESPACE.svc.cluster.local. */
const podName = (objects: KubernetesObject[], of: string, ordinal: number): string => {
  const statefulSet = workload(objects, of);
  assert.equal(statefulSet.kind, 'StatefulSet');
  return `${statefulSet.metadata.name}-${ordinal}.${statefulSet.spec.serviceName ?? ''}.${NAMESPACE}.svc.cluster.local`;
};

describe('Redis with Sentinel on Kubernetes (components/sentinel, overlays/sentinel-load-balancer), validated, not run', () => {
  let validate: Validate;
  let copy: Awaited<ReturnType<typeof manifestsCopy>> | undefined;
  let objects: KubernetesObject[];

  before(async () => {
    validate = await kubernetesValidator();
    copy = await manifestsCopy(PASSWORD);
    objects = await kustomizeBuild(join(copy.dir, 'overlays', OVERLAY));
  });
  after(async () => {
    await copy?.remove();
  });

  it('renders, and every object is valid for the API (strictly), in the namespace; the ingress overlay takes the component too', async () => {
    for (const object of objects) {
      assert.deepEqual(validate(object), [], `${object.kind} ${object.metadata.name}`);
      if (object.kind !== 'Namespace') assert.equal(object.metadata.namespace, NAMESPACE, `${object.kind} ${object.metadata.name}`);
    }
    assert.ok(copy);
    const withIngress = join(copy.dir, 'overlays', 'sentinel-ingress-by-the-test');
    await mkdir(withIngress);
    await writeFile(join(withIngress, 'kustomization.yaml'), 'resources: [../ingress]\ncomponents: [../../components/sentinel]\n');
    const ingress = await kustomizeBuild(withIngress);
    assert.deepEqual(ingress.flatMap((object) => validate(object).map((error) => `${object.kind} ${error}`)), []);
    assert.deepEqual(ingress.filter((object) => object.kind === 'StatefulSet').map((object) => object.metadata.name).sort(), ['redis', 'sentinel']);
    assert.ok(ingress.some((object) => object.kind === 'Ingress'));
  });

  it('3 Redis pods and 3 sentinels, each with its data on a volume claim (a sentinel\'s sentinel.conf in SENTINEL_DIR, /data by default)', () => {
    for (const name of ['redis', 'sentinel']) {
      const statefulSet = workload(objects, name);
      assert.equal(statefulSet.kind, 'StatefulSet', name);
      assert.equal(statefulSet.spec.replicas, 3, name);
      const dataDir = podEnvironment(objects, container(objects, name), `${name}-0`).SENTINEL_DIR ?? '/data';
      const mount = container(objects, name).volumeMounts?.find((each) => each.mountPath === dataDir);
      assert.ok(mount && statefulSet.spec.volumeClaimTemplates?.some((claim) => claim.metadata.name === mount.name), `${name}: ${dataDir} is a volume claim`);
      const headless = find(objects, 'Service', statefulSet.spec.serviceName ?? '') as (KubernetesObject & { spec: { clusterIP?: string; publishNotReadyAddresses?: boolean } }) | undefined;
      assert.equal(headless?.spec.clusterIP, 'None', `${name}'s governing Service is headless`);
      assert.equal(headless.spec.publishNotReadyAddresses, true, `${name}: names resolve before the pods are ready`);
    }
    assert.equal(find(objects, 'Service', 'redis'), undefined, 'no Service spreading the app over master and replicas');
  });

  it('pod 0 starts as the master, pods 1 and 2 as replicas of redis-0 by its stable name; each announces its own name; the HA settings of compose.ha.yaml', async () => {
    const redis = container(objects, 'redis');
    const fake = await mkdtemp(join(tmpdir(), 'vc-k8s-start-'));
    try {
      // start-redis.sh replaced by one that prints what it would get.
      await writeFile(join(fake, 'start-redis.sh'), '#!/bin/sh\necho "replica-of=${REDIS_REPLICA_OF:-}"\n', { mode: 0o755 });
      for (const ordinal of [0, 1, 2]) {
        const env = podEnvironment(objects, redis, `redis-${ordinal}`);
        const [command = '', ...args] = [...(redis.command ?? []), ...(redis.args ?? [])];
        const result = await run(command, args, { env: { ...env, PATH: `${fake}:/usr/bin:/bin` } });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout.trim(), `replica-of=${ordinal === 0 ? '' : `${podName(objects, 'redis', 0)} 6379`}`, `redis-${ordinal}`);
        assert.equal(env.REDIS_ANNOUNCE_HOSTNAME, podName(objects, 'redis', ordinal));
        assert.equal(env.REDIS_MIN_REPLICAS_TO_WRITE, '1');
        assert.equal(env.REDIS_MIN_REPLICAS_MAX_LAG, '1');
      }
    } finally {
      await rm(fake, { recursive: true, force: true });
    }
  });

  it('the sentinels watch redis-0 by name (host names resolved and announced), each announcing its own stable name; quorum 2 of 3', () => {
    for (const ordinal of [0, 1, 2]) {
      const env = podEnvironment(objects, container(objects, 'sentinel'), `sentinel-${ordinal}`);
      assert.equal(env.SENTINEL_HOSTNAMES, 'yes');
      assert.equal(env.SENTINEL_MONITOR, `${podName(objects, 'redis', 0)} 6379`);
      assert.equal(env.SENTINEL_ANNOUNCE_IP, podName(objects, 'sentinel', ordinal));
      assert.equal(env.SENTINEL_QUORUM, '2');
      assert.equal(env.SENTINEL_MASTER_NAME, 'counter');
    }
    assert.deepEqual(container(objects, 'sentinel').command, ['start-sentinel.sh']);
  });

  it('the passwords: the operator\'s files, in Secrets (none in git), mounted read-only where the scripts read them; a sentinel gets only what it needs', async () => {
    const nodeEnv = podEnvironment(objects, container(objects, 'redis'), 'redis-1');
    const sentinelEnv = podEnvironment(objects, container(objects, 'sentinel'), 'sentinel-1');
    const node = workload(objects, 'redis');
    const sentinel = workload(objects, 'sentinel');
    assert.equal(secretText(secretKeyAt(objects, node, nodeEnv.REDIS_REPLICATION_PASSWORD_FILE ?? '')), `replication-${PASSWORD}`);
    assert.equal(secretText(secretKeyAt(objects, node, nodeEnv.REDIS_SENTINEL_PASSWORD_FILE ?? '')), `sentinel-${PASSWORD}`);
    assert.equal(secretText(secretKeyAt(objects, sentinel, sentinelEnv.REDIS_SENTINEL_PASSWORD_FILE ?? '')), `sentinel-${PASSWORD}`);
    assert.equal(secretText(secretKeyAt(objects, sentinel, sentinelEnv.REDIS_PASSWORD_FILE ?? '')), PASSWORD, 'the app\'s counter user, which may ask the sentinels');
    const sentinelFiles = sentinel.spec.template.spec.volumes?.flatMap((volume) => volume.secret?.items?.map((item) => item.key) ?? [`all of ${volume.secret?.secretName ?? volume.name}`]);
    assert.deepEqual(sentinelFiles?.sort(), ['redis_password', 'sentinel_password']);
    const root = new URL('../..', import.meta.url).pathname;
    for (const file of Object.values(HA_PASSWORD_FILES)) {
      assert.equal((await run('git', ['check-ignore', '--quiet', `deploy/kubernetes/${file}`], { cwd: root })).code, 0, `git ignores ${file}`);
    }
  });

  it('the app follows the master through the three sentinels: its rendered environment, loaded by the app\'s own configuration', async () => {
    const web = container(objects, 'web');
    const env = podEnvironment(objects, web, 'web-abc');
    assert.equal(env.REDIS_HOST, undefined);
    const files = await mkdtemp(join(tmpdir(), 'vc-k8s-web-'));
    try {
      // The Secret's files where the pod has them, here in a temporary folder.
      for (const [name, path] of Object.entries(env).filter(([name]) => name.endsWith('_FILE'))) {
        const local = join(files, name);
        await writeFile(local, `${secretText(secretKeyAt(objects, workload(objects, 'web'), path))}\n`);
        env[name] = local;
      }
      const { redis } = loadConfig(env);
      assert.equal(redis.kind, 'sentinel');
      const sentinelPort = container(objects, 'sentinel').ports?.find((port) => port.name === 'sentinel')?.containerPort;
      assert.deepEqual(redis.sentinels, [0, 1, 2].map((ordinal) => ({ host: `sentinel-${ordinal}.${workload(objects, 'sentinel').spec.serviceName ?? ''}`, port: sentinelPort })));
      assert.equal(redis.masterName, podEnvironment(objects, container(objects, 'sentinel'), 'sentinel-0').SENTINEL_MASTER_NAME);
      assert.equal(redis.username, 'counter');
      assert.equal(redis.password, PASSWORD);
    } finally {
      await rm(files, { recursive: true, force: true });
    }
  });

  it('network policies: web to the sentinels and Redis, sentinels to Redis and each other, Redis to Redis; nothing else', () => {
    const policies = objects.filter((object) => object.kind === 'NetworkPolicy') as NetworkPolicy[];
    const namespaceLabels = { 'kubernetes.io/metadata.name': NAMESPACE, ...find(objects, 'Namespace', NAMESPACE)?.metadata.labels };
    const pod = (name: string): Source => ({ namespaceLabels, podLabels: workload(objects, name).spec.template.metadata.labels });
    const sources: Record<string, Source> = {
      'a client outside the cluster': 'outside the cluster',
      'another pod of the namespace': { namespaceLabels, podLabels: { app: 'debug' } },
      'a pod of another namespace': { namespaceLabels: { 'kubernetes.io/metadata.name': 'elsewhere' }, podLabels: workload(objects, 'web').spec.template.metadata.labels },
      nginx: pod('nginx'),
      web: pod('web'),
      redis: pod('redis'),
      sentinel: pod('sentinel'),
    };
    const expected: Record<string, { port: number; from: string[] }> = {
      redis: { port: 6379, from: ['web', 'redis', 'sentinel'] },
      sentinel: { port: 26379, from: ['web', 'sentinel'] },
      web: { port: 3000, from: ['nginx'] },
    };
    for (const [target, { port, from }] of Object.entries(expected)) {
      const labels = workload(objects, target).spec.template.metadata.labels;
      const reaching = (on: number) => Object.keys(sources).filter((source) => allows(policies, namespaceLabels, sources[source] ?? 'outside the cluster', labels, on));
      assert.deepEqual(reaching(port), from, `who reaches ${target} on ${port}`);
      for (const other of [6379, 26379, 3000, 9229].filter((each) => each !== port)) assert.deepEqual(reaching(other), [], `${target} on ${other}`);
    }
  });

  it('every pod hardened as in the base (non-root as the image\'s user, read-only root, all capabilities dropped, RuntimeDefault seccomp, bounded resources); one disruption budget per component, one pod at a time', () => {
    const uids: Record<string, number> = { web: 1000, nginx: 101, redis: 999, sentinel: 999 };
    for (const each of workloads(objects)) {
      const pod = each.spec.template.spec;
      const name = `${each.kind} ${each.metadata.name}`;
      assert.equal(pod.securityContext?.runAsNonRoot, true, name);
      assert.equal(pod.securityContext.runAsUser, uids[component(each)], name);
      assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault', name);
      assert.equal(pod.automountServiceAccountToken, false, name);
      assert.equal(pod.enableServiceLinks, false, name);
      for (const one of pod.containers) {
        const context = one.securityContext;
        assert.equal(context?.runAsNonRoot, true, name);
        assert.equal(context.readOnlyRootFilesystem, true, name);
        assert.equal(context.allowPrivilegeEscalation, false, name);
        assert.deepEqual(context.capabilities, { drop: ['ALL'] }, name);
        assert.equal(context.seccompProfile?.type, 'RuntimeDefault', name);
        for (const resource of ['cpu', 'memory']) assert.ok(one.resources?.requests?.[resource] && one.resources.limits?.[resource], `${name} ${resource}`);
        assert.match(one.image, new RegExp(`^visit-counter-${component(each) === 'sentinel' ? 'redis' : component(each)}:[0-9]`), name);
      }
    }
    // The sentinels run the Redis image (start-sentinel.sh is in it), the same tag.
    assert.equal(container(objects, 'sentinel').image, container(objects, 'redis').image);
    const budgets = objects.filter((object) => object.kind === 'PodDisruptionBudget') as (KubernetesObject & { spec: { selector: Selector; maxUnavailable?: number } })[];
    assert.deepEqual(budgets.map((budget) => budget.metadata.name).sort(), ['nginx', 'redis', 'sentinel', 'web']);
    for (const budget of budgets) {
      const covered = workloads(objects).filter((each) => selects(budget.spec.selector, each.spec.template.metadata.labels));
      assert.deepEqual(covered.map(component), [budget.metadata.name]);
      assert.equal(budget.spec.maxUnavailable, 1);
    }
  });
});
